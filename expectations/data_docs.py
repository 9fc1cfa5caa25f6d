"""Great Expectations' Data Docs, readable offline.

GX writes its pages with jQuery, Bootstrap, bootstrap-table, Font Awesome and Vega loaded from
CDNs; without them (offline, or a browser that blocks third-party scripts) the index's tables
stay empty, because bootstrap-table draws them. `fetch_vendor` downloads those exact files once
from the npm registry (the same packages the CDNs serve) into a vendor folder, and `localize`
copies them into the site and points every page at its local copy. Run after each Data Docs
update (`validate_frame` does); without a vendor folder the pages keep their CDN links.

    python -m expectations.data_docs fetch <JOURNEYLIFT_HOME>   (into <home>/gx/vendor)
"""

from __future__ import annotations

import io
import os
import re
import shutil
import sys
import tarfile
import urllib.request
from pathlib import Path

NPM_REGISTRY = os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org").rstrip("/")

#: CDN address in GX's pages -> (npm package, version, file in the package).
CDN_FILES: dict[str, tuple[str, str, str]] = {
    "https://code.jquery.com/jquery-3.7.1.min.js": ("jquery", "3.7.1", "dist/jquery.min.js"),
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css":
        ("bootstrap", "4.3.1", "dist/css/bootstrap.min.css"),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js":
        ("bootstrap", "4.3.1", "dist/js/bootstrap.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js":
        ("popper.js", "1.12.9", "dist/umd/popper.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js":
        ("bootstrap-table", "1.19.1", "dist/bootstrap-table.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css":
        ("bootstrap-table", "1.19.1", "dist/bootstrap-table.min.css"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        ("bootstrap-table", "1.19.1", "dist/extensions/filter-control/bootstrap-table-filter-control.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        ("bootstrap-table", "1.19.0", "dist/extensions/filter-control/bootstrap-table-filter-control.css"),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        ("bootstrap-table", "1.19.0", "dist/extensions/filter-control/bootstrap-table-filter-control.min.css"),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        ("bootstrap-datepicker", "1.9.0", "dist/css/bootstrap-datepicker.min.css"),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        ("bootstrap-datepicker", "1.9.0", "dist/js/bootstrap-datepicker.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css":
        ("@fortawesome/fontawesome-free", "6.6.0", "css/all.min.css"),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        ("@forevolve/bootstrap-dark", "1.1.0", "dist/css/bootstrap-prefers-dark.css"),
    # jsdelivr serves the newest release of a major version; these are pinned.
    "https://cdn.jsdelivr.net/npm/vega@5": ("vega", "5.30.0", "build/vega.min.js"),
    "https://cdn.jsdelivr.net/npm/vega-lite@5": ("vega-lite", "5.21.0", "build/vega-lite.min.js"),
    "https://cdn.jsdelivr.net/npm/vega-embed@6": ("vega-embed", "6.26.0", "build/vega-embed.min.js"),
}
#: Folders a stylesheet loads relative to itself (Font Awesome's ../webfonts/).
EXTRA_FOLDERS: dict[tuple[str, str], str] = {("@fortawesome/fontawesome-free", "6.6.0"): "webfonts/"}
VENDOR_DIR = "static/vendor"  # inside the site
#: GX's logo, fetched from S3 with the data context's id in its query: the site has a copy.
REMOTE_LOGO = re.compile(r'"https://great-expectations-web-assets\.s3[^"]*/logo-long\.png[^"]*"')


def vendor_dir(docs_root: Path) -> Path:
    """Where the vendor files are kept for the GX project under `docs_root` (outside the site,
    which GX rewrites)."""
    return Path(docs_root) / "gx" / "vendor"


def _local(package: str, version: str, member: str) -> str:
    return f"{package}@{version}/{member}"


def fetch_vendor(vendor: Path) -> list[str]:
    """Download every package of CDN_FILES once (the npm tarball) and keep the files GX's pages
    load under `vendor`; returns the files written (none when they are all there)."""
    packages: dict[tuple[str, str], list[str]] = {}
    for package, version, member in CDN_FILES.values():
        packages.setdefault((package, version), []).append(member)
    written = []
    for (package, version), members in packages.items():
        folder = EXTRA_FOLDERS.get((package, version))
        if all((vendor / _local(package, version, m)).is_file() for m in members) and (
            folder is None or (vendor / _local(package, version, folder)).is_dir()
        ):
            continue
        name = package.rsplit("/", 1)[-1]
        url = f"{NPM_REGISTRY}/{package}/-/{name}-{version}.tgz"
        with urllib.request.urlopen(url, timeout=60) as response:
            archive = tarfile.open(fileobj=io.BytesIO(response.read()), mode="r:gz")
        for entry in archive.getmembers():
            inner = entry.name.split("/", 1)[1] if "/" in entry.name else entry.name
            if entry.isfile() and (inner in members or (folder and inner.startswith(folder))):
                target = vendor / _local(package, version, inner)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(archive.extractfile(entry).read())
                written.append(str(target))
    return written


def localize(site: Path, vendor: Path) -> int:
    """Copy the vendor files into `site` and point every page at them; the number of pages
    changed. Nothing happens when `vendor` lacks a file (the pages keep their CDN links)."""
    if not all((vendor / _local(*spec)).is_file() for spec in CDN_FILES.values()):
        return 0
    target = site / VENDOR_DIR
    if not target.is_dir():
        shutil.copytree(vendor, target)
    changed = 0
    for page in site.rglob("*.html"):
        text = original = page.read_text()
        root = "../" * (len(page.relative_to(site).parts) - 1)
        for url, spec in CDN_FILES.items():
            text = text.replace(f'"{url}"', f'"{root}{VENDOR_DIR}/{_local(*spec)}"')
        text = REMOTE_LOGO.sub(f'"{root}static/images/logo-long.png"', text)
        if text != original:
            page.write_text(text)
            changed += 1
    return changed


if __name__ == "__main__":
    if sys.argv[1:2] != ["fetch"] or len(sys.argv) != 3:
        sys.exit("usage: python -m expectations.data_docs fetch <JOURNEYLIFT_HOME>")
    vendor = vendor_dir(Path(sys.argv[2]))
    files = fetch_vendor(vendor)
    print(f"Data Docs assets: {len(files)} files fetched into {vendor}" if files else f"Data Docs assets: in {vendor}")
