"""The user's own account page: profile, phone, authenticator devices, recovery codes."""
