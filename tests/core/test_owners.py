"""A mini program is bound to the first owner seen for it; a different claimed owner is refused."""

from __future__ import annotations

import pytest

from streams.core.owners import OwnerBindings, OwnerMismatch


def test_the_first_event_of_an_app_binds_it_and_says_so_once():
    owners = OwnerBindings()
    assert owners.check("wxapp1", "gh_owner") is True  # new: the shell must persist it
    assert owners.check("wxapp1", "gh_owner") is False
    assert owners.owner_of("wxapp1") == "gh_owner"


def test_an_event_claiming_another_owner_is_refused_and_changes_no_binding():
    owners = OwnerBindings()
    owners.check("wxapp1", "gh_owner")
    with pytest.raises(OwnerMismatch) as refused:
        owners.check("wxapp1", "gh_intruder")
    assert refused.value.bound == "gh_owner" and refused.value.claimed == "gh_intruder"
    assert "gh_intruder" in str(refused.value)
    assert owners.owner_of("wxapp1") == "gh_owner"
    assert owners.check("wxapp1", "gh_owner") is False


def test_bindings_are_per_app():
    owners = OwnerBindings()
    owners.check("wxapp1", "gh_a")
    assert owners.check("wxapp2", "gh_b") is True
    assert len(owners) == 2


def test_loaded_bindings_hold_before_any_event():
    owners = OwnerBindings([("wxapp1", "gh_owner")])
    assert owners.check("wxapp1", "gh_owner") is False
    with pytest.raises(OwnerMismatch):
        owners.check("wxapp1", "gh_other")


def test_a_later_loaded_record_replaces_an_earlier_one():
    owners = OwnerBindings([("wxapp1", "gh_old"), ("wxapp1", "gh_new")])
    assert owners.owner_of("wxapp1") == "gh_new"
