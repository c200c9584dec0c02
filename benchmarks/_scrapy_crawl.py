"""The peer: a Scrapy crawl (the engine of OCDS Kingfisher Collect) of the URLs in a file, run as its own process.

Fetches every URL once with the given concurrency, one connection per host as the harvester keeps, and
parses each body as JSON (what a collector does before storing); no signature, validation or storage.
Prints ``{"seconds": …, "fetched": …, "bytes": …}``: the crawl's time from the engine's start to its last
response (the interpreter's start and Scrapy's imports left out, as the harvester's are).

Run: ``python benchmarks/_scrapy_crawl.py URLS_FILE [--concurrency 50]`` (needs ``pip install scrapy``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import scrapy
from scrapy.crawler import CrawlerProcess


class Feeds(scrapy.Spider):  # type: ignore[misc]
    name = "feeds"
    figures: dict[str, Any] = {"fetched": 0, "bytes": 0}  # noqa: RUF012 (one crawl per process)

    def __init__(self, urls: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.urls = urls

    async def start(self) -> Any:
        """Every URL once (Scrapy ≥ 2.13's asynchronous start)."""
        self.figures["started"] = time.perf_counter()
        for url in self.urls:
            yield scrapy.Request(url, callback=self.parse, dont_filter=True)

    def parse(self, response: Any) -> None:
        json.loads(response.body)
        self.figures["fetched"] += 1
        self.figures["bytes"] += len(response.body)
        self.figures["finished"] = time.perf_counter()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("urls", type=Path)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    urls = args.urls.read_text().split()
    process = CrawlerProcess(
        settings={
            "CONCURRENT_REQUESTS": args.concurrency,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 1,  # each node is its own host
            "DOWNLOAD_DELAY": 0,
            "ROBOTSTXT_OBEY": False,
            "COOKIES_ENABLED": False,
            "RETRY_ENABLED": False,
            "TELNETCONSOLE_ENABLED": False,
            "LOG_ENABLED": False,
            "HTTPCACHE_ENABLED": False,
        }
    )
    process.crawl(Feeds, urls=urls)
    process.start()
    figures = Feeds.figures
    print(
        json.dumps(
            {
                "seconds": figures.get("finished", 0.0) - figures.get("started", 0.0),
                "fetched": figures["fetched"],
                "bytes": figures["bytes"],
            }
        )
    )


if __name__ == "__main__":
    main()
