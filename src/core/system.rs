//! The system collections PocketBase creates on first start (§4.2, §4.5), with its exact
//! ids, fields, rules and indexes, and the bootstrap that creates them once.

use serde_json::json;
use sqlx::Connection;

use crate::core::collection::{
    Collection, CollectionType, LoadError, auth_system_fields, id_field, system_field,
};
use crate::core::field::{Field, FieldOptions};
use crate::store::{self, Store};

/// The rule PocketBase puts on the owner-readable system collections.
const OWNER_RULE: &str = "@request.auth.id != '' && recordRef = @request.auth.id && collectionRef = @request.auth.collectionId";

/// Creates the system collections and the default `users` collection, unless
/// `_collections` already has rows (a data dir made earlier, by Satchel or PocketBase).
pub async fn bootstrap(store: &Store) -> Result<(), sqlx::Error> {
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM `_collections`")
        .fetch_one(&store.reader)
        .await?;
    if count > 0 {
        return Ok(());
    }
    let mut turn = store.writer.turn().await?;
    let mut tx = turn.begin().await?;
    let definitions =
        definitions().map_err(|_| sqlx::Error::Protocol("invalid system collection".into()))?;
    for mut collection in definitions {
        collection.touch();
        store::schema::create(&mut tx, &collection).await?;
        store::collections::save(&mut tx, &collection).await?;
    }
    tx.commit().await
}

fn definitions() -> Result<Vec<Collection>, LoadError> {
    let text = |name: &str, required: bool| {
        let mut f = system_field(name, FieldOptions::plain_text());
        f.required = required;
        f
    };
    let mut otp_password = system_field(
        "password",
        FieldOptions::Password {
            min: 0,
            max: 0,
            pattern: String::new(),
            cost: 8,
        },
    );
    otp_password.hidden = true;
    otp_password.required = true;
    let mut sent_to = text("sentTo", false);
    sent_to.hidden = true;
    Ok(vec![
        owned(
            "_mfas",
            vec![
                text("collectionRef", true),
                text("recordRef", true),
                text("method", true),
            ],
            false,
            &[
                "CREATE INDEX `idx_mfas_collectionRef_recordRef` ON `_mfas` (collectionRef,recordRef)",
            ],
        )?,
        owned(
            "_otps",
            vec![
                text("collectionRef", true),
                text("recordRef", true),
                otp_password,
                sent_to,
            ],
            false,
            &[
                "CREATE INDEX `idx_otps_collectionRef_recordRef` ON `_otps` (collectionRef, recordRef)",
            ],
        )?,
        owned(
            "_externalAuths",
            vec![
                text("collectionRef", true),
                text("recordRef", true),
                text("provider", true),
                text("providerId", true),
            ],
            true,
            &[
                "CREATE UNIQUE INDEX `idx_externalAuths_record_provider` ON `_externalAuths` (collectionRef, recordRef, provider)",
                "CREATE UNIQUE INDEX `idx_externalAuths_collection_provider` ON `_externalAuths` (collectionRef, provider, providerId)",
            ],
        )?,
        owned(
            "_authOrigins",
            vec![
                text("collectionRef", true),
                text("recordRef", true),
                text("fingerprint", true),
            ],
            true,
            &[
                "CREATE UNIQUE INDEX `idx_authOrigins_unique_pairs` ON `_authOrigins` (collectionRef, recordRef, fingerprint)",
            ],
        )?,
        superusers()?,
        users()?,
    ])
}

fn autodates(system: bool) -> [Field; 2] {
    let mut created = Field::new(
        "created",
        FieldOptions::Autodate {
            on_create: true,
            on_update: false,
        },
    );
    let mut updated = Field::new(
        "updated",
        FieldOptions::Autodate {
            on_create: true,
            on_update: true,
        },
    );
    created.system = system;
    updated.system = system;
    [created, updated]
}

fn build(value: serde_json::Value) -> Result<Collection, LoadError> {
    Collection::from_json(&value)
}

fn owned(
    name: &str,
    fields: Vec<Field>,
    owner_can_delete: bool,
    indexes: &[&str],
) -> Result<Collection, LoadError> {
    let mut all = vec![id_field()];
    all.extend(fields);
    all.extend(autodates(true));
    build(json!({
        "name": name, "type": "base", "system": true,
        "fields": all.iter().map(Field::to_json).collect::<Vec<_>>(),
        "indexes": indexes,
        "listRule": OWNER_RULE, "viewRule": OWNER_RULE,
        "deleteRule": owner_can_delete.then_some(OWNER_RULE),
    }))
}

fn superusers() -> Result<Collection, LoadError> {
    let mut fields = auth_system_fields();
    fields.extend(autodates(true));
    let mut options = crate::core::auth_options::AuthOptions::default();
    options.auth_token.duration = 86_400;
    build(json!({
        "name": "_superusers", "type": CollectionType::Auth.as_str(), "system": true,
        "fields": fields.iter().map(Field::to_json).collect::<Vec<_>>(),
        "options": options,
    }))
}

fn users() -> Result<Collection, LoadError> {
    let mut fields = auth_system_fields();
    let mut name = Field::new("name", FieldOptions::plain_text());
    if let FieldOptions::Text { max, .. } = &mut name.options {
        *max = 255;
    }
    let mime_types = [
        "image/jpeg",
        "image/png",
        "image/svg+xml",
        "image/gif",
        "image/webp",
    ];
    let avatar = Field::new(
        "avatar",
        FieldOptions::File {
            max_select: 1,
            max_size: 0,
            mime_types: mime_types.iter().map(|m| m.to_string()).collect(),
            thumbs: Vec::new(),
            protected: false,
        },
    );
    fields.extend([name, avatar]);
    fields.extend(autodates(false));
    let mut options = crate::core::auth_options::AuthOptions::default();
    options.oauth2.mapped_fields.name = "name".into();
    options.oauth2.mapped_fields.avatar_url = "avatar".into();
    let owner = "id = @request.auth.id";
    build(json!({
        "id": "_pb_users_auth_", "name": "users", "type": "auth",
        "fields": fields.iter().map(Field::to_json).collect::<Vec<_>>(),
        "listRule": owner, "viewRule": owner, "createRule": "", "updateRule": owner, "deleteRule": owner,
        "options": options,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_match_pocketbase_ids() {
        let all = definitions().expect("valid");
        let ids: Vec<&str> = all.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "pbc_2279338944",
                "pbc_1638494021",
                "pbc_2281828961",
                "pbc_4275539003",
                "pbc_3142635823",
                "_pb_users_auth_"
            ]
        );
        let users = &all[5];
        let field_ids: Vec<&str> = users.fields.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(
            field_ids,
            [
                "text3208210256",
                "password901924565",
                "text2504183744",
                "email3885137012",
                "bool1547992806",
                "bool256245529",
                "text1579384326",
                "file376926767",
                "autodate2990389176",
                "autodate3332085495"
            ]
        );
        assert_eq!(
            users.indexes[0],
            "CREATE UNIQUE INDEX `idx_tokenKey__pb_users_auth_` ON `users` (`tokenKey`)"
        );
    }
}
