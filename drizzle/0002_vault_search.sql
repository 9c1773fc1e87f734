-- Placeholder: filled in by the 0002_vault_search work before this lands.
SELECT 1;
