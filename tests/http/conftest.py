from tests.deploy.conftest import launch  # noqa: F401  (the fixture: a real `gatescope serve`)
