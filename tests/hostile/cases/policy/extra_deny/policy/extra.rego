package kfm.promote

deny contains {"code": "F.user_rule", "message": "freeze", "path": "gates"} if true
