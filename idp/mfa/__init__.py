"""The second factor: one package per factor (``idp/mfa/<kind>/``) behind one interface
(``base.Factor``), the registry built from configuration (``registry``), and the verbs every
surface calls (``flows``)."""
