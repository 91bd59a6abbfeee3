"""Wire models of the local users' routes: password login and "who am I"."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LoginRequest(_Strict):
    username: str = Field(min_length=1, max_length=128)
    password: str = Field(min_length=1, max_length=1024)


class LoginAnswer(_Strict):
    token: str
    username: str
    role: str
    expires_at: str


class WhoAmI(_Strict):
    username: str
    roles: list[str]
    token_id: str
