package kfm.promote

allow := true
