"""Tag keys: one normalisation for attribution and the detectors."""

from transforms.tags import TAG_VARIANTS, normalise_tag_key, parse_tags


def test_export_prefixes_are_removed_once():
    assert [normalise_tag_key(k) for k in ("user:team", "USER_team", "tag:cluster", "label:role", "team")] == [
        "team",
        "team",
        "cluster",
        "role",
        "team",
    ]
    assert normalise_tag_key("user:user:x") == "user:x"


def test_parse_tags_normalises_keys_and_keeps_the_first_of_two_alike():
    assert parse_tags('{"user:team": "nlp", "team": "vision", "label:role": "hdfs-datanode", "n": null}') == {
        "team": "nlp",
        "role": "hdfs-datanode",
        "n": "",
    }
    assert parse_tags("not json") == {} and parse_tags("[1]") == {} and parse_tags(None) == {}


def test_attribution_looks_up_the_same_prefixes_in_its_order_of_preference():
    assert TAG_VARIANTS["team"][:5] == ("team", "Team", "TEAM", "user:team", "user_team")
    assert {"tag:team", "label:team", "userTeam", "team_name", "owner_team", "cost_team"} <= set(TAG_VARIANTS["team"])
    assert TAG_VARIANTS["model"][-1] == "model_name" and "user:project" in TAG_VARIANTS["project"]
