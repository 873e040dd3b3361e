"""The allow-list refuses every URL it was not told to trust, before any request is made."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from batchinfer.storage.errors import UrlNotAllowedError
from batchinfer.storage.policy import StorageAllowList

SAS = "sv=2023-11-03&sp=rl&sig=TOPSECRETsig%3D"


@pytest.fixture()
def roots(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "inputs").mkdir(parents=True)
    return root


@pytest.fixture()
def policy(roots: Path) -> StorageAllowList:
    return StorageAllowList(accounts=["goodacct"], local_roots=[roots])


def test_allowed_account(policy: StorageAllowList) -> None:
    c = policy.check(f"https://goodacct.blob.core.windows.net/inputs?{SAS}")
    assert c.account == "goodacct" and c.sas_token == SAS


def test_azurite_only_on_its_configured_endpoint(policy: StorageAllowList) -> None:
    for url in (
        "http://127.0.0.1:10000/devstoreaccount1/inputs",
        "http://localhost:10000/devstoreaccount1/out",
    ):
        assert policy.check(url).account == "devstoreaccount1"
    for url in (  # any other loopback port would let a request probe local services
        "http://127.0.0.1:54321/devstoreaccount1/inputs",
        "http://localhost:1/devstoreaccount1/out",
        "https://127.0.0.1:443/devstoreaccount1/out",
        "http://127.0.0.1/devstoreaccount1/out",
    ):
        with pytest.raises(UrlNotAllowedError, match="emulator endpoint"):
            policy.check(url)


def test_azurite_endpoints_from_settings() -> None:
    from_host = StorageAllowList.from_settings(
        {"FUNCHOST_AZURITE_BLOB_ENDPOINT": "http://127.0.0.1:20000/devstoreaccount1"}
    )
    assert from_host.check("http://127.0.0.1:20000/devstoreaccount1/cont").port == 20000
    with pytest.raises(UrlNotAllowedError):
        from_host.check("http://127.0.0.1:10000/devstoreaccount1/cont")
    explicit = StorageAllowList.from_settings(
        {"BATCHINFER_AZURITE_ENDPOINTS": "127.0.0.1:30000, localhost:30001"}
    )
    assert explicit.check("http://localhost:30001/devstoreaccount1/cont").port == 30001


def test_local_folder_inside_root(policy: StorageAllowList, roots: Path) -> None:
    c = policy.check((roots / "inputs").as_uri())
    assert c.local_root == (roots / "inputs").resolve()
    # A folder that does not exist yet (a result folder) is fine if it is inside a root.
    assert policy.check((roots / "new" / "out").as_uri()).container == "out"
    assert policy.check(roots.as_uri()).local_root == roots.resolve()


@pytest.mark.parametrize(
    "url",
    [
        "https://otheracct.blob.core.windows.net/inputs",
        "http://goodacct.blob.core.windows.net/inputs",
        "https://goodacct.blob.core.chinacloudapi.cn/inputs",
        "https://goodacct.dfs.core.windows.net/inputs",
        "https://goodacct.blob.core.windows.net.attacker.net/inputs",
        "https://169.254.169.254/metadata/x",
        "http://127.0.0.1:10000/otheraccount/inputs",
        "http://127.0.0.2:10000/devstoreaccount1/inputs",
        "http://[::1]:10000/devstoreaccount1/inputs",
        "https://user:pw@goodacct.blob.core.windows.net/inputs",
        "https://goodacct.blob.core.windows.net/inputs#x",
        "gopher://goodacct.blob.core.windows.net/inputs",
        "file:///etc",
        "file:///",
    ],
)
def test_refusals(policy: StorageAllowList, url: str) -> None:
    with pytest.raises(UrlNotAllowedError) as info:
        policy.check(url)
    assert info.value.code == "InvalidArgument"
    assert isinstance(info.value, PermissionError)


def test_refusal_never_shows_sas(policy: StorageAllowList) -> None:
    with pytest.raises(UrlNotAllowedError) as info:
        policy.check(f"https://otheracct.blob.core.windows.net/inputs?{SAS}")
    for text in (str(info.value), repr(info.value), info.value.message, str(info.value.args)):
        assert "TOPSECRET" not in text and "sig=" not in text
    assert "otheracct" in str(info.value)


def test_file_outside_roots_via_dotdot_or_symlink(
    policy: StorageAllowList, roots: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (roots / "escape").symlink_to(outside)
    with pytest.raises(UrlNotAllowedError):
        policy.check((roots / "escape").as_uri())
    with pytest.raises(UrlNotAllowedError):
        policy.check(f"file://{roots}/../outside")
    with pytest.raises(UrlNotAllowedError):
        policy.check(f"file://{roots}-sibling")  # a prefix match of the root is not inside it


def test_azurite_can_be_disabled(roots: Path) -> None:
    strict = StorageAllowList(allow_azurite=False, local_roots=())
    with pytest.raises(UrlNotAllowedError):
        strict.check("http://127.0.0.1:10000/devstoreaccount1/inputs")
    with pytest.raises(UrlNotAllowedError):
        strict.check((roots / "inputs").as_uri())


def test_default_local_root_is_constructor_argument(tmp_path: Path) -> None:
    policy = StorageAllowList(default_local_root=tmp_path / "store")
    assert policy.local_roots == ((tmp_path / "store").resolve(),)
    assert policy.accounts == frozenset()


def test_default_local_root_is_under_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    policy = StorageAllowList.from_settings({})
    assert policy.local_roots == ((tmp_path / ".data" / "storage").resolve(),)
    assert policy.allow_azurite is True


def test_from_settings(tmp_path: Path) -> None:
    env = {
        "BATCHINFER_ALLOWED_ACCOUNTS": " AcctOne, accttwo ,",
        "BATCHINFER_ALLOW_AZURITE": "false",
        "BATCHINFER_LOCAL_ROOTS": os.pathsep.join([str(tmp_path / "a"), str(tmp_path / "b")]),
        "BATCHINFER_ENDPOINT_SUFFIXES": "core.windows.net,core.usgovcloudapi.net",
    }
    policy = StorageAllowList.from_settings(env)
    assert policy.accounts == {"acctone", "accttwo"}
    assert policy.allow_azurite is False
    assert len(policy.local_roots) == 2
    assert policy.check("https://accttwo.blob.core.usgovcloudapi.net/ccc").account == "accttwo"
    with pytest.raises(UrlNotAllowedError):
        policy.check("http://127.0.0.1:10000/devstoreaccount1/inputs")


def test_azurite_default_off_when_hosted_in_azure() -> None:
    assert StorageAllowList.from_settings({"WEBSITE_INSTANCE_ID": "abc"}).allow_azurite is False
    assert (
        StorageAllowList.from_settings(
            {"WEBSITE_INSTANCE_ID": "abc", "BATCHINFER_ALLOW_AZURITE": "1"}
        ).allow_azurite
        is True
    )


def test_bad_boolean_setting() -> None:
    with pytest.raises(ValueError, match="BATCHINFER_ALLOW_AZURITE"):
        StorageAllowList.from_settings({"BATCHINFER_ALLOW_AZURITE": "maybe"})


def test_unreachable_emulator_error_carries_no_transport_detail() -> None:
    from batchinfer.storage.azure_blob import AzureBlobStore
    from batchinfer.storage.errors import StorageAccessError
    from tests.support.azurite import free_port

    port = free_port()  # nothing listens there
    url = f"http://127.0.0.1:{port}/devstoreaccount1/cont"
    policy = StorageAllowList(local_roots=(), emulator_endpoints=[f"127.0.0.1:{port}"])
    store = AzureBlobStore(policy.check(url), retry_total=0)
    with pytest.raises(StorageAccessError) as info:
        list(store.list_blobs())
    message = info.value.message
    assert message.startswith("could not reach storage")
    assert "Error" not in message and "refused" not in message.lower()
