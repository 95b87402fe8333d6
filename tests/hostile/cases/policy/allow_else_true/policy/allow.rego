package kfm.promote

allow if true
