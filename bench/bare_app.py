"""B3's reference server: a bare FastAPI hello-world app under `hub serve`'s own uvicorn
options (hub.serve.uvicorn_options: the same HTTP protocol, loop, workers and timeouts).

    python -m bench.bare_app --port 8001 --workers 2

What the hub adds on top of this app (middleware, token check, audit append, the stored
document) is what B3's "x bare app" ratios measure.
"""

from __future__ import annotations

import argparse

from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/")
    async def hello() -> dict[str, str]:
        return {"message": "Hello World"}

    return app


def main() -> None:
    import uvicorn

    from hub.serve import uvicorn_options

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run("bench.bare_app:create_app",
                **uvicorn_options("127.0.0.1", args.port, args.workers))


if __name__ == "__main__":
    main()
