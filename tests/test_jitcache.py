"""numba's cache files are deleted when the package's sources change (sim.core.jitcache)."""

from pathlib import Path

from sim.core import jitcache


def _package(tmp_path: Path) -> Path:
    pkg = tmp_path / "pkg"
    (pkg / "sub" / "__pycache__").mkdir(parents=True)
    (pkg / "__pycache__").mkdir()
    (pkg / "a.py").write_text("x = 1\n")
    (pkg / "sub" / "b.py").write_text("y = 2\n")
    return pkg


def _cache_files(pkg: Path) -> list[Path]:
    return [pkg / "__pycache__" / "a.f-3.py311.nbi", pkg / "__pycache__" / "a.f-3.py311.1.nbc",
            pkg / "sub" / "__pycache__" / "b.g-1.py311.nbi"]


def test_stale_cache_deleted_once(tmp_path, monkeypatch):
    """No stamp, or a stamp of other sources: the cache files go (the bytecode stays) and the
    stamp is written; the same sources again delete nothing; a change to any module (here one
    that other modules' kernels might inline) deletes them all again."""
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    pkg = _package(tmp_path)
    files = _cache_files(pkg)
    for f in files:
        f.write_bytes(b"cached")
    pyc = pkg / "__pycache__" / "a.cpython-311.pyc"
    pyc.write_bytes(b"bytecode")
    assert jitcache.refresh(pkg) == 3
    assert not any(f.exists() for f in files) and pyc.exists()
    stamp = pkg / "__pycache__" / jitcache.STAMP
    assert stamp.read_text().strip() == jitcache.sources_digest(pkg)
    for f in files:
        f.write_bytes(b"cached")
    assert jitcache.refresh(pkg) == 0 and all(f.exists() for f in files)
    (pkg / "sub" / "b.py").write_text("y = 3\n")
    assert jitcache.refresh(pkg) == 3 and not any(f.exists() for f in files)


def test_user_cache_dir(tmp_path, monkeypatch):
    """With NUMBA_CACHE_DIR the files are looked for where numba puts them (a directory named
    after the source directory and the hash of its path) and the stamp is kept there."""
    pkg = _package(tmp_path)
    cache = tmp_path / "numba-cache"
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(cache))
    dirs = jitcache.cache_dirs(pkg)
    assert len(dirs) == 2 and all(d.parent == cache for d in dirs)
    assert sorted(d.name.split("_")[0] for d in dirs) == ["pkg", "sub"]
    for d in dirs:
        d.mkdir(parents=True)
        (d / "m.f-1.py311.nbi").write_bytes(b"cached")
    assert jitcache.refresh(pkg) == 2
    assert (cache / jitcache.STAMP).is_file()
    assert jitcache.refresh(pkg) == 0


def test_unwritable_is_left_alone(tmp_path, monkeypatch):
    """A package whose cache cannot be written (an installed, read-only tree) is not an error."""
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "file-not-dir"))
    (tmp_path / "file-not-dir").write_text("")
    pkg = _package(tmp_path)
    assert jitcache.refresh(pkg) == 0


def test_numba_names_its_directories_as_assumed(tmp_path, monkeypatch):
    """The mirror directory name follows numba's own locator (guards a numba upgrade)."""
    from numba.core.caching import _CacheLocator

    pkg = _package(tmp_path)
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "c"))
    want = {_CacheLocator.get_suitable_cache_subpath(str(p))
            for p in (pkg / "a.py", pkg / "sub" / "b.py")}
    assert {d.name for d in jitcache.cache_dirs(pkg)} == want
