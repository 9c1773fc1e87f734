-- Placeholder: filled in by the 0003_audit_append_only work before this lands.
SELECT 1;
