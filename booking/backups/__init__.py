"""`flask backup PATH` and `flask restore PATH`: whole-database copies that restore."""
