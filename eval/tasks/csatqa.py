"""CSAT-QA: Korean college entrance exam (CSAT) Korean-language questions (lm-eval's csatqa group).

Six sections, five options, scored by likelihood, 0-shot. Hub-only (HAERAE-HUB/csatqa; gated on
the Hub): eval.source hub, or a copy of the Hub repository in csatqa/ under eval.data_dir.
"""

from eval.tasks import Defined

TASK = Defined("csatqa", "csatqa", "csatqa", None, title="CSAT-QA", hub_id="HAERAE-HUB/csatqa")
