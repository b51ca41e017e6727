-- PocketBase's own bookkeeping tables, in its exact layout (reference 0.40.6 `.schema`), so a
-- pb_data made by either server opens in the other. `IF NOT EXISTS` lets Satchel adopt a
-- data dir PocketBase created. Collection tables (`_superusers`, `_otps`, `users`, ...) are
-- not here: they are created from their collection definitions, like any other collection.
CREATE TABLE IF NOT EXISTS `_migrations` (file VARCHAR(255) PRIMARY KEY NOT NULL, applied INTEGER NOT NULL);

CREATE TABLE IF NOT EXISTS `_params` (
    `id`      TEXT PRIMARY KEY DEFAULT ('r'||lower(hex(randomblob(7)))) NOT NULL,
    `value`   JSON DEFAULT NULL,
    `created` TEXT DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ')) NOT NULL,
    `updated` TEXT DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ')) NOT NULL
);

CREATE TABLE IF NOT EXISTS `_collections` (
    `id`         TEXT PRIMARY KEY DEFAULT ('r'||lower(hex(randomblob(7)))) NOT NULL,
    `system`     BOOLEAN DEFAULT FALSE NOT NULL,
    `type`       TEXT DEFAULT 'base' NOT NULL,
    `name`       TEXT UNIQUE NOT NULL,
    `fields`     JSON DEFAULT '[]' NOT NULL,
    `indexes`    JSON DEFAULT '[]' NOT NULL,
    `listRule`   TEXT DEFAULT NULL,
    `viewRule`   TEXT DEFAULT NULL,
    `createRule` TEXT DEFAULT NULL,
    `updateRule` TEXT DEFAULT NULL,
    `deleteRule` TEXT DEFAULT NULL,
    `options`    JSON DEFAULT '{}' NOT NULL,
    `created`    TEXT DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ')) NOT NULL,
    `updated`    TEXT DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ')) NOT NULL
);

CREATE INDEX IF NOT EXISTS idx__collections_type on `_collections` (`type`);
