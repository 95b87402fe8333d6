package kfm.promote

decision := {"allow": true, "quarantine": false, "deny": set(), "pending": set()}
