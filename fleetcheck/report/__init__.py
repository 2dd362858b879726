"""Result records and the writers that read them."""
