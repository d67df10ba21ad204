"""The live server fixture of the console flow, shared by every browser test."""

from tests.browser.test_console_flow import live_server  # noqa: F401 - registers the fixture
