"""The digest ledger's settings in the chart (ledger.enabled, ledger.cooldown, ledger.retention): the webhook and
the sweeper get the same cooldown, only the sweeper collects garbage, and a cooldown without the ledger is refused
with the fix (there is nothing to count from)."""
from manifests import container, flag_values
from test_chart_values import chart_check


def cronjob_args(render, variant: str) -> list[str]:
    return container(render(variant).one("CronJob"), "sweeper")["args"]


def test_ledger_off_by_default(render):
    webhook = container(render("default").one("Deployment"), "webhook")["args"]
    sweeper = cronjob_args(render, "default")
    for args in (webhook, sweeper):
        assert not [a for a in args if a == "--ledger" or a.startswith("--cooldown") or a.startswith("--ledger-")]


def test_cooldown_reaches_the_webhook_and_the_sweeper(render):
    webhook = container(render("events").one("Deployment"), "webhook")["args"]
    sweeper = cronjob_args(render, "events")
    assert "--ledger" in webhook and flag_values(webhook, "--cooldown") == ["72h"]
    assert "--ledger" in sweeper and flag_values(sweeper, "--cooldown") == ["72h"]
    assert flag_values(sweeper, "--ledger-retention") == ["168h"]
    assert not flag_values(webhook, "--ledger-retention"), "only the sweeper, which sees every pod, forgets tags"


def test_cooldown_without_the_ledger_fails_with_the_fix():
    run = chart_check("--set", "ledger.cooldown=72h")
    assert run.returncode == 1
    assert "ledger.cooldown needs ledger.enabled=true" in run.stdout + run.stderr


def test_cooldown_must_be_a_duration():
    run = chart_check("--set", "ledger.enabled=true", "--set", "ledger.cooldown=3 days")
    assert run.returncode == 1
    assert "/ledger/cooldown'" in run.stdout, run.stdout
