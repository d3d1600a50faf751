"""The installed package: where it comes from, what it exports, how it is built."""

from __future__ import annotations

import os
import sys
import sysconfig
from decimal import Decimal
from pathlib import Path

import pesakit
from pesakit import _native
from sandbox_helper import python_prints, repo_root


def test_imported_from_site_packages_not_the_source_tree() -> None:
    location = Path(pesakit.__file__).resolve()
    site_packages = Path(sysconfig.get_paths()["platlib"]).resolve()
    assert site_packages in location.parents, f"pesakit imported from {location}"
    source = (repo_root() / "bindings" / "python").resolve()
    assert source not in location.parents
    assert sys.prefix != sys.base_prefix, "tests run inside a virtual environment"


def test_native_library_ships_next_to_the_generated_module() -> None:
    package = Path(pesakit.__file__).parent
    assert (package / "libpesakit_ffi.so").is_file()
    assert Path(_native.__file__).parent == package
    assert (package / "py.typed").is_file()


def test_bindings_and_library_come_from_the_same_build() -> None:
    # UniFFI 0.32's Python template leaves this check commented out; run it here.
    _native._uniffi_check_api_checksums(_native._UniffiLib)


def test_version() -> None:
    assert pesakit.__version__ == pesakit.pesakit_version()
    assert pesakit.__version__.count(".") >= 2


def test_public_names() -> None:
    for name in pesakit.__all__:
        assert hasattr(pesakit, name), name
    for name in [
        "PaypackClient", "AsyncPaypackClient", "Transaction", "Event", "TransactionPage",
        "EventPage", "Profile", "TransactionStatus", "TransactionKind", "EventKind",
        "PesakitError", "ErrorKind", "TokenStore", "TokenSet", "Logger", "LogLevel",
        "WebhookMode", "PaypackWebhookVerifier", "new_idempotency_key", "normalize_rw_phone",
        "pesakit_version", "CheckoutClient", "AsyncCheckoutClient", "CheckoutWebhookVerifier",
        "CheckoutOAuth", "CheckoutWebhookEvent", "CheckoutEventKind", "Payment", "PaymentStatus",
        "Money", "PaymentApplication", "Checkout", "FieldError", "PagaClient", "AsyncPagaClient",
        "PagaAuthorization", "PagaGrant", "PagaPaymentResult", "PagaUserDetails", "PagaEnvironment",
        "PagaTokenRequestStyle", "new_paga_reference_number",
    ]:
        assert name in pesakit.__all__, name
    # The idiomatic clients replace the generated ones.
    assert pesakit.PaypackClient is not _native.PaypackClient
    assert pesakit.CheckoutClient is not _native.CheckoutClient
    assert pesakit.PagaClient is not _native.PagaClient


def test_public_items_have_docstrings() -> None:
    for name in ["PaypackClient", "AsyncPaypackClient", "Pager", "AsyncPager", "CheckoutClient", "AsyncCheckoutClient",
                 "PagaClient", "AsyncPagaClient"]:
        cls = getattr(pesakit, name)
        assert cls.__doc__, name
        for attr, value in vars(cls).items():
            if callable(value) and not attr.startswith("_"):
                assert value.__doc__, f"{name}.{attr}"
    assert pesakit.PaypackClient.from_env.__doc__
    assert pesakit.PaypackClient.__init__.__doc__
    assert pesakit.CheckoutClient.from_env.__doc__
    assert pesakit.CheckoutClient.__init__.__doc__
    assert pesakit.CheckoutClient.webhook_verifier.__doc__
    assert pesakit.PagaClient.__init__.__doc__
    assert pesakit.PagaClient.authorization_url.__doc__


def test_helpers() -> None:
    key = pesakit.new_idempotency_key()
    assert len(key) == 32 and int(key, 16) >= 0
    assert pesakit.new_idempotency_key() != key
    assert pesakit.normalize_rw_phone("+250788123456") == "0788123456"
    assert pesakit.normalize_rw_phone("250728123456") == "0728123456"
    try:
        pesakit.normalize_rw_phone("12345")
    except pesakit.PesakitError.Validation as e:
        assert e.kind is pesakit.ErrorKind.VALIDATION
        assert str(e) == e.summary and e.summary
    else:
        raise AssertionError("an invalid number was accepted")


def test_source_tree_is_not_on_sys_path() -> None:
    source = (repo_root() / "bindings" / "python" / "src").resolve()
    for entry in sys.path:
        if entry and Path(entry).exists():
            assert Path(entry).resolve() != source
    assert not (Path(os.getcwd()) / "pesakit").exists()


def test_every_error_variant_prints_its_summary() -> None:
    variants = 0
    for kind in pesakit.ErrorKind:
        name = "".join(part.capitalize() for part in kind.name.split("_"))
        cls = getattr(pesakit.PesakitError, name)
        field = pesakit.FieldError(field="amount", messages=["The amount field is required."])
        e = cls(kind, "A sentence.", 500, "gateway says", None, "{}", None, None, [field])
        assert isinstance(e, pesakit.PesakitError)
        assert str(e) == "A sentence."
        assert repr(e).startswith(f"PesakitError.{name}(kind=")
        assert "gateway_message='gateway says'" in repr(e)
        assert "field_errors=[FieldError(field=amount, messages=['The amount field is required.'])]" in repr(e)
        # Written before field_errors existed: still constructs, with none.
        older = cls(kind, "Older.", None, None, None, None, None, None)
        assert older.field_errors == [] and str(older) == "Older."
        variants += 1
    assert variants == 13


def test_records_repr_lists_their_fields() -> None:
    import dataclasses

    for name in _native.__all__:
        cls = getattr(_native, name)
        if isinstance(cls, type) and dataclasses.is_dataclass(cls) and "__str__" in vars(cls):
            assert cls.__repr__ is cls.__str__, f"{name} keeps the empty dataclass repr"
    profile = pesakit.Profile(
        id="ABC123", name="Shop", in_rate=None, out_rate=None, airtel_in_rate=None,
        airtel_out_rate=None, balance=Decimal("10.5"), mtn_balance=None, airtel_balance=None,
    )
    assert repr(profile).startswith("Profile(id=ABC123, name=Shop,")
    assert "balance=10.5" in repr([profile])


def test_asyncio_is_imported_on_first_use() -> None:
    # A program that never makes an async call does not pay for importing asyncio; one
    # that does gets the generated code's own asyncio calls on the real module.
    probe = """
import sys
import pesakit
from pesakit import _native
print("asyncio" in sys.modules, repr(_native.asyncio))
import asyncio

async def main():
    return _native._uniffi_get_event_loop()

loop = asyncio.run(main())
print(isinstance(loop, asyncio.AbstractEventLoop), _native.asyncio is asyncio)
"""
    assert python_prints(probe).splitlines() == ["False <module 'asyncio', imported on first use>", "True True"]
