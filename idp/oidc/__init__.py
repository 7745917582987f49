"""OpenID Connect on Authlib: we fill the hooks its grants and endpoints leave open."""
