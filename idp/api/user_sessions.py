"""A user's browser sessions: list them, end one (by its ``sid``), end them all. Listing needs
``users:read``; ending, ``sessions:write``."""
from __future__ import annotations

from flask import jsonify

from ..extensions import db
from ..services import NotFound
from ..services.user_sessions import (
    end_all_user_sessions,
    end_user_session,
    list_user_sessions,
)
from . import api_bp
from .management import user_by_id
from .parameters import path_text
from .representations import session_json


@api_bp.get("/realms/<realm_name>/users/<user_id>/sessions")
def list_user_sessions_view(user_id):
    return jsonify(sessions=[session_json(row) for row in list_user_sessions(user_by_id(user_id))])


@api_bp.delete("/realms/<realm_name>/users/<user_id>/sessions")
def end_all_user_sessions_view(user_id):
    """Every browser session, the logins under way and the tokens issued to apps; what ended
    is counted in the answer."""
    ended = end_all_user_sessions(user_by_id(user_id))
    db.session.commit()
    return jsonify(ended)


@api_bp.delete("/realms/<realm_name>/users/<user_id>/sessions/<session_id>")
def end_user_session_view(user_id, session_id):
    """One browser session and the tokens issued in it."""
    user = user_by_id(user_id)
    if path_text(session_id, 64) is None:
        raise NotFound("That session does not exist or has ended.")
    end_user_session(user, session_id)
    db.session.commit()
    return "", 204
