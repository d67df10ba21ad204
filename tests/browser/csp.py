"""Watching a browser context for Content-Security-Policy violations: every page reports each one (the
``securitypolicyviolation`` event, hooked in before any page script runs) and Chromium logs it, and both land in
:attr:`CspWatch.violations`, for a test to assert there are none."""

from __future__ import annotations

from dataclasses import dataclass, field

from playwright.async_api import BrowserContext, ConsoleMessage

MARK = "CSP violation:"
LISTENER = f"""
document.addEventListener("securitypolicyviolation", function (event) {{
  console.error("{MARK} " + event.effectiveDirective + " blocked " + (event.blockedURI || "inline") +
                " in " + (event.sourceFile || document.location.pathname) + ":" + event.lineNumber);
}});
"""
"""Added with ``add_init_script``, which the policy does not govern (it is the browser's, not the page's)."""


@dataclass
class CspWatch:
    violations: list[str] = field(default_factory=list)

    async def attach(self, context: BrowserContext) -> None:
        await context.add_init_script(LISTENER)
        context.on("console", self._on_console)

    def _on_console(self, message: ConsoleMessage) -> None:
        text = message.text
        if MARK in text or "Content Security Policy" in text:
            self.violations.append(text)
