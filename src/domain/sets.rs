//! Closed sets of words the registry records (structure, condition, party kind, deal mode, ...): one
//! declaration gives the Rust enum, its text in JSON and in the database (a `text` column with a check
//! constraint listing the same words), the list for the OpenAPI document, and the message for a word
//! outside the set. Parsing never falls back to a default: a stored word the code does not know is a
//! decoding error, not a silent "registered".

/// Declares a closed set: `closed_set! { /// doc  pub enum Name { Variant = "word", ... } }`.
///
/// The enum serialises to and from its words with serde, binds and decodes as `text` with sqlx, and
/// implements `FromStr` with the message of [`super::checks::one_of`] (`"x" is not one of a, b, c`), or
/// `is required` for a blank.
#[macro_export]
macro_rules! closed_set {
    ($(#[doc = $doc:expr])* pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, sqlx::Type)]
        #[sqlx(type_name = "text")]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $word)] #[sqlx(rename = $word)] $variant),+
        }

        impl $name {
            /// Every member, in the order declared.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The words of the set, in the order declared.
            pub const WORDS: &'static [&'static str] = &[$($word),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $word),+
                }
            }
        }

        // Written out rather than derived: the derive does not read the words of the serde attributes
        // this macro writes.
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some($name::WORDS.iter().copied()))
                    .description(Some(concat!($($doc, "\n"),*).trim()))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($word => Ok($name::$variant),)+
                    // A blank is a value left out, as an empty cell of a survey file is.
                    _ if s.trim().is_empty() => Err("is required".to_string()),
                    _ => Err($crate::domain::checks::not_one_of(s, $name::WORDS)),
                }
            }
        }
    };
}

#[cfg(test)]
mod tests {
    closed_set! {
        /// A set for the tests.
        pub enum Fruit { Apple = "苹果", Pear = "pear" }
    }

    #[test]
    fn words_round_trip_through_text_and_json() {
        for f in Fruit::ALL {
            assert_eq!(f.as_str().parse::<Fruit>(), Ok(*f));
            assert_eq!(serde_json::to_value(f).unwrap(), serde_json::json!(f.as_str()));
        }
        assert_eq!("plum".parse::<Fruit>(), Err("\"plum\" is not one of 苹果, pear".to_string()));
        assert_eq!(" ".parse::<Fruit>(), Err("is required".to_string()));
        assert!(serde_json::from_value::<Fruit>(serde_json::json!("plum")).is_err());
    }

    #[test]
    fn the_openapi_schema_lists_the_words() {
        let schema = serde_json::to_value(<Fruit as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(schema["enum"], serde_json::json!(["苹果", "pear"]));
        assert_eq!(schema["description"], "A set for the tests.");
    }
}
