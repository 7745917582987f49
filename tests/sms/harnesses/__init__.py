"""One contract harness per SMS provider folder: ``tests/sms/harnesses/<kind>.py`` defines
``Harness(folder)`` with

- ``settings``: server settings the provider needs in a test (``{"webhooks": {...}}``);
- ``values()``: valid field values (field name -> text), ``secret``: the secret among them;
- ``install(app)``: point the provider at what receives its texts (an injected client, a
  local server); ``received()``: the (to, body) pairs that arrived there;
- ``break_sending()``: make the next send fail the way that provider fails; ``close()``.

``tests/sms/test_provider_contract.py`` runs every shipped provider through the same story."""
