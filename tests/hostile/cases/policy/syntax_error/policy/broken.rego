package kfm.user

deny contains x if {
  x := 
}
