"""Run in a fresh interpreter by the fault tests: one concurrent `generate` call of one provider's backend against a
fault server, with the import watch installed first. Prints, as JSON, each request's answer text or error.

    python provider_child.py PROVIDER BASE_URL REQUESTS CONCURRENCY
"""

from __future__ import annotations

import json
import sys

import import_watch

from nejumi_plugin.backends.api_common import ApiSettings
from nejumi_plugin.backends.base import BackendError, GenerationRequest
from nejumi_plugin.backends.factory import api_backend


def main(provider: str, base_url: str, n: int, concurrency: int) -> None:
    settings = ApiSettings(
        model="fault-model",
        provider=provider,
        base_url=base_url,
        concurrency=concurrency,
        max_retries=5,
        retry_wait_s=1.0,
    )
    backend = api_backend(settings)
    requests = [GenerationRequest("", 8, messages=(("user", f"質問 {i}"),)) for i in range(n)]
    out = {i: (str(r) if isinstance(r, BackendError) else r.text) for i, r in backend.generate(requests)}
    backend.close()
    print(json.dumps({"answers": out, "worker_imports": import_watch.seen()}, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
