"""Studio keys given a rights holder reach that holder's references only: several studios share
one service without reading, editing or removing each other's titles."""
from __future__ import annotations

from .conftest import LiveServer, folder_holding, studio_key, wait_job


def test_a_studio_key_with_a_rights_holder_reaches_its_own_titles_only(library, settings_for, tmp_path):
    settings = settings_for(library, roots=(folder_holding(tmp_path / "studio", "frog.mp4"),))
    with LiveServer(settings) as server:
        server.keys.update(friday=studio_key(settings, "Friday Films"), pond=studio_key(settings, "Pond"))
        with server.client("friday") as friday, server.client("pond") as pond, server.client("studio") as every:
            assert [r["title"] for r in friday.get("/v1/references").json()["references"]] == ["Friday"]
            assert len(every.get("/v1/references").json()["references"]) == 3  # a key without one: every studio's
            friday_id = friday.get("/v1/references").json()["references"][0]["id"]

            # an added title is stamped with the key's rights holder; another holder's name is refused
            assert pond.post("/v1/references", json={"path": "frog.mp4", "metadata": {"rights_holder": "Friday Films"}}).status_code == 403
            done = wait_job(pond, pond.post("/v1/references", json={"path": "frog.mp4", "title": "Frog"}).json()["id"])
            frog_id = done["result"]["video_id"]
            assert friday.get(f"/v1/jobs/{done['id']}").status_code == 404  # nor another studio's jobs
            assert every.get(f"/v1/jobs/{done['id']}").status_code == 200
            assert pond.get(f"/v1/references/{frog_id}").json()["metadata"] == {"rights_holder": "Pond"}

            # another studio's title does not exist for this key: no read, edit or removal
            for call in (friday.get, friday.delete):
                assert call(f"/v1/references/{frog_id}").status_code == 404
            assert friday.patch(f"/v1/references/{frog_id}", json={"enabled": False}).status_code == 404
            assert pond.patch(f"/v1/references/{friday_id}", json={"metadata": {"rights_holder": "Pond"}}).status_code == 404
            assert pond.delete(f"/v1/references/{friday_id}").status_code == 404
            assert [r["title"] for r in pond.get("/v1/references").json()["references"]] == ["Frog"]

            # its own: edited, never handed to another holder, even when the metadata is replaced
            r = pond.patch(f"/v1/references/{frog_id}", json={"metadata": {"licensed_sellers": ["pondshop"]}, "replace_metadata": True})
            assert r.status_code == 200 and r.json()["metadata"] == {"licensed_sellers": "pondshop", "rights_holder": "Pond"}
            assert pond.patch(f"/v1/references/{frog_id}", json={"metadata": {"rights_holder": "Other"}}).status_code == 403
            assert pond.delete(f"/v1/references/{frog_id}").status_code == 200
            assert len(every.get("/v1/references").json()["references"]) == 3
