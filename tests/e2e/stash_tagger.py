"""Ask a real Stash to scrape a scene from one of its stash-boxes, as its Tagger does.

`scrapeSingleScene` with a `stash_box_endpoint` source: by `scene_id` Stash sends the
scene's fingerprints (`FindScenesBySceneFingerprints`), by `query` its `SearchScene`. Stash
matches every scraped tag to a local tag (pkg/match/scraped.go) and answers its id as
`stored_id`, after dropping the tags its exclude patterns name.
"""
from __future__ import annotations

from tests.e2e.stash_server import RealStash

SCRAPE_TIMEOUT_SECONDS = 180.0

SCRAPE_SCENE = """
query E2EScrapeScene($source: ScraperSourceInput!, $input: ScrapeSingleSceneInput!) {
  scrapeSingleScene(source: $source, input: $input) {
    remote_site_id
    tags { stored_id name remote_site_id }
  }
}
"""

TAGGER_OPERATIONS = (SCRAPE_SCENE,)


def scrape_scenes(stash: RealStash, endpoint: str, scrape_input: dict) -> list[dict]:
    """Every scene Stash scraped for `scrape_input` ({"scene_id": ...} or {"query": ...})."""
    variables = {"source": {"stash_box_endpoint": endpoint}, "input": scrape_input}
    return stash.graphql(SCRAPE_SCENE, variables, timeout=SCRAPE_TIMEOUT_SECONDS)["scrapeSingleScene"]
