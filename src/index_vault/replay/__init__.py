"""The main job: `record` holds its pure records and summary; `chain` replays days on a chain."""
