"""The factor contract: ``test_factor_contract.py`` runs every factor of the default
``[mfa] factors`` through the same stories, each with its driver ``<kind>.py`` here (how a user
answers that factor). A new factor adds its driver, or the suite fails for it."""
