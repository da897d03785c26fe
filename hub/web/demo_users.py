"""`hub demo`: one console user per role with a one-time password, printed with the URL.

Demo only: a real installation creates users with `hub user create --password-stdin` and never
prints a password. A second `hub demo` gives the demo users new passwords.
"""

from __future__ import annotations

import secrets
from typing import Any

from hub.settings import HubSettings
from hub.state.migrate import open_state_store
from hub.web.errors import UserExists
from hub.web.state import stores


def print_demo_users(settings: HubSettings, console: Any, url: str, street: str,
                     raw_id: str) -> None:
    scopes = {"street_office": [street], "department": ["elderly_care"], "auditor": [],
              "admin": []}
    engine = open_state_store(settings.resolved_state_url)
    passwords: dict[str, str] = {}
    try:
        users, sessions = stores(engine, settings)
        for role, scope in scopes.items():
            name, password = f"demo-{role}", secrets.token_urlsafe(9)
            try:
                users.create(name, role, scope, password)
            except UserExists:
                users.reset_password(name, password)
                sessions.end_all(name)
            passwords[name] = password
    finally:
        engine.dispose()
    console.print(f"console: {url}/console/ (demo users, one-time passwords shown once):",
                  markup=False)
    for name, password in passwords.items():
        console.print(f"  {name:<22} {password}", markup=False)
    console.print(f"  as demo-street_office: 查询居民 -> 身份证号 {raw_id}, 查询目的 救助审核",
                  markup=False)
    console.print(f"  as demo-department: 上传数据 -> a civil-affairs extract (e.g. part of the "
                  f"one in {settings.demo_dir}), then 批次记录", markup=False)
    console.print("  as demo-auditor: 数据质量总览, 审计日志, 审计日志校验; as demo-admin: 用户, "
                  "API 令牌, 数据目录, 密钥", markup=False)
