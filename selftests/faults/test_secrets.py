"""Class 4 — secrets in every copy of the config.

A run logged to W&B (offline, read back from disk) with credentials and a signed query string in `base_url` and its
key in the environment: no copy of the config that leaves the process — W&B config and `config` artifact (staged
under W&B's artifact folder, uploaded on `wandb sync`), meta, report, logs, every file the run wrote anywhere —
holds the password, the query string or the key.
"""

from __future__ import annotations

from fault_runs import Runs
from fault_server import FaultServer, serve_faults

from nejumi_plugin.wandb_offline import read_offline_run

PASSWORD, QUERY, KEY = "s3cr3t-pw", "qs-secret-77", "sk-live-never-written"


def test_no_copy_of_the_config_carries_credentials(runs: Runs) -> None:
    server = FaultServer()
    wandb_dirs = {
        name: runs.root / "wandb-home" / name.lower()
        for name in ("WANDB_DIR", "WANDB_DATA_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR")
    }
    with serve_faults(server) as url:
        secret_url = url.replace("http://", f"http://user:{PASSWORD}@") + f"?sig={QUERY}"
        config = runs.config(
            secret_url,
            mtbench=True,
            model={"api_key_env": "SERVED_KEY"},
            judge={"base_url": secret_url, "api_key_env": "SERVED_KEY"},
            wandb={"entity": "me", "project": "nejumi", "run_name": "tiny-run", "mode": "offline"},
        )
        env = {"SERVED_KEY": KEY, "WANDB_MODE": "offline", **{k: str(v) for k, v in wandb_dirs.items()}}
        done = runs.run(config, runs.root / "out", "-k", "jnli or mtbench", env=env)
    assert done.returncode == 0 and "(complete)" in done.stdout, done.output[-3000:]
    written = [p for p in runs.root.rglob("*") if p.is_file() and p != config]
    assert len(written) > 20 and any("staging" in str(p) for p in written)  # W&B's artifact staging included
    for path in written:
        data = path.read_bytes()
        for secret in (PASSWORD, QUERY, KEY):
            assert secret.encode() not in data, f"{secret} in {path}"
    assert not [secret for secret in (PASSWORD, QUERY, KEY) if secret in done.output]  # the terminal neither
    logged = read_offline_run(runs.root / "out" / "tiny-run" / "wandb")
    public = url  # the same server, without credentials and query
    assert logged.config["model"]["base_url"] == public and logged.config["mtbench"]["judge"]["base_url"] == public
    staged = [p for p in written if "staging" in str(p) and b"base_url:" in p.read_bytes()]  # the config artifact
    assert staged and all(f"base_url: {public}" in p.read_text(encoding="utf-8") for p in staged)
