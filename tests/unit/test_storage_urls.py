"""Container URL parsing and redaction: the SAS must never show up where people can read it."""

from __future__ import annotations

from pathlib import Path

import pytest

from batchinfer.storage.errors import UrlNotAllowedError
from batchinfer.storage.urls import blob_url, parse_container_url, redact_url

SAS = "sv=2023-11-03&ss=b&srt=co&sp=rl&se=2030-01-01T00:00:00Z&sig=SECRETsig%2Babc%3D"


def test_azure_hostname_url() -> None:
    c = parse_container_url(f"https://myacct.blob.core.windows.net/inputs?{SAS}")
    assert (c.scheme, c.account, c.container) == ("https", "myacct", "inputs")
    assert c.endpoint == "https://myacct.blob.core.windows.net"
    assert c.url == "https://myacct.blob.core.windows.net/inputs"
    assert c.has_sas and c.sas_token == SAS
    assert c.url_with_sas() == f"https://myacct.blob.core.windows.net/inputs?{SAS}"
    assert not c.is_emulator and not c.is_local


def test_sovereign_suffix_and_trailing_slash() -> None:
    c = parse_container_url("https://acct01.blob.core.chinacloudapi.cn/docs/")
    assert c.account == "acct01" and c.container == "docs" and not c.has_sas


def test_azurite_path_style_url() -> None:
    c = parse_container_url(f"http://127.0.0.1:10000/devstoreaccount1/inputs?{SAS}")
    assert c.account == "devstoreaccount1" and c.container == "inputs"
    assert c.endpoint == "http://127.0.0.1:10000/devstoreaccount1"
    assert c.is_emulator and c.port == 10000
    c2 = parse_container_url("http://LOCALHOST:4321/devstoreaccount1/out")
    assert c2.host == "localhost" and c2.endpoint == "http://localhost:4321/devstoreaccount1"


def test_file_url(tmp_path: Path) -> None:
    folder = tmp_path / "my docs"
    c = parse_container_url(folder.as_uri())
    assert c.is_local and c.local_root == folder and c.container == "my docs"
    assert c.account is None
    assert c.url == folder.as_uri()
    assert blob_url(c, "a/b.pdf") == (folder / "a" / "b.pdf").as_uri()


@pytest.mark.parametrize(
    "url",
    [
        "ftp://acct.blob.core.windows.net/c",
        "https://acct.blob.core.windows.net",
        "https://acct.blob.core.windows.net/",
        "https://acct.blob.core.windows.net/container/folder",
        "https://acct.blob.core.windows.net/Bad_Name",
        "https://acct.blob.core.windows.net/a--b",
        "https://evil.example.com/container",
        "https://acct.blob.core.windows.net.evil.com/container",
        "https://acct-secondary.blob.core.windows.net/container",
        "https://user:pw@acct.blob.core.windows.net/container",
        "https://acct.blob.core.windows.net/container#frag",
        "https://acct.blob.core.windows.net:abc/container",
        "http://127.0.0.1:10000/devstoreaccount1",
        "http://127.0.0.1:10000/devstoreaccount1/c/extra",
        "file://otherhost/tmp/x",
        "file:///tmp/x?sig=abc",
        "file:///",
        "file:///tmp/a%00b",
        "relative/path",
        "",
    ],
)
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(UrlNotAllowedError) as info:
        parse_container_url(url)
    assert info.value.code == "InvalidArgument"
    assert "pw" not in str(info.value) and "sig=abc" not in str(info.value)


def test_sas_never_in_str_or_repr() -> None:
    c = parse_container_url(f"https://myacct.blob.core.windows.net/inputs?{SAS}")
    for text in (str(c), repr(c), f"{c}", f"{c!r}", str([c]), blob_url(c, "x.pdf")):
        assert "SECRET" not in text and "sig=" not in text
    assert "redacted" in repr(c)
    assert blob_url(c, "a b/x.pdf", with_sas=True).endswith(f"/inputs/a%20b/x.pdf?{SAS}")


def test_sas_not_in_refusal_message() -> None:
    with pytest.raises(UrlNotAllowedError) as info:
        parse_container_url(f"https://evil.example.com/c?{SAS}")
    assert "SECRET" not in str(info.value) and "SECRET" not in repr(info.value)
    assert "evil.example.com" in str(info.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"https://a.blob.core.windows.net/c?{SAS}", "https://a.blob.core.windows.net/c"),
        ("https://u:p@a.blob.core.windows.net/c/x#f", "https://a.blob.core.windows.net/c/x"),
        ("http://127.0.0.1:1/devstoreaccount1/c?sig=x", "http://127.0.0.1:1/devstoreaccount1/c"),
        ("http://[::1/c?sig=x", "http://[::1/c"),
        ("not a url?sig=x", "not a url"),
        ("file:///tmp/x", "file:///tmp/x"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected
