"""The design of an experiment: its config (:mod:`.spec`) and its folder layout (:mod:`.layout`)."""
