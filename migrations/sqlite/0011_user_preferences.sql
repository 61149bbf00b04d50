-- Each admin's display preferences (issue 34): how times are shown, and
-- whether single-key shortcuts are on (WCAG 2.1.4 asks that they can be
-- turned off). Read with the credential on every request, so they are
-- columns of `users` rather than a table of their own.
ALTER TABLE users ADD COLUMN time_display TEXT NOT NULL DEFAULT 'utc'
    CHECK (time_display IN ('utc', 'local', 'relative'));
ALTER TABLE users ADD COLUMN keyboard_shortcuts TEXT NOT NULL DEFAULT 'on'
    CHECK (keyboard_shortcuts IN ('on', 'off'));
