//! How the JSON bodies and query strings of the API are declared.
//!
//! Every wire struct derives the same traits, defaults each absent field,
//! and leaves an unset optional field out when serialized; bodies also keep
//! the keys this crate does not model. `wire_structs!` writes that once.

/// Declares wire structs. Each is `query Name { … }` (no unknown keys) or
/// `body Name { … }` (unknown keys kept in `extra` and written back
/// unchanged), with fields in wire order:
///
/// * `name?: T` is an `Option<T>` left out when `None`;
/// * `name: Maybe<T>` is left out when absent (`null` is sent);
/// * `name: T` is always sent (`Option<T>` as `null`).
///
/// Attributes (docs, `#[serde(…)]`, more derives) pass through.
macro_rules! wire_structs {
    (@fields $head:tt [$($done:tt)*]) => {
        wire_structs!(@emit $head [$($done)*]);
    };
    (@fields $head:tt [$($done:tt)*] $(#[$attr:meta])* $field:ident?: $ty:ty $(, $($rest:tt)*)?) => {
        wire_structs!(@fields $head [
            $($done)*
            $(#[$attr])*
            #[serde(skip_serializing_if = "Option::is_none")]
            pub $field: Option<$ty>,
        ] $($($rest)*)?);
    };
    (@fields $head:tt [$($done:tt)*] $(#[$attr:meta])* $field:ident: Maybe<$ty:ty> $(, $($rest:tt)*)?) => {
        wire_structs!(@fields $head [
            $($done)*
            $(#[$attr])*
            #[serde(skip_serializing_if = "Maybe::is_absent")]
            pub $field: Maybe<$ty>,
        ] $($($rest)*)?);
    };
    (@fields $head:tt [$($done:tt)*] $(#[$attr:meta])* $field:ident: $ty:ty $(, $($rest:tt)*)?) => {
        wire_structs!(@fields $head [$($done)* $(#[$attr])* pub $field: $ty,] $($($rest)*)?);
    };
    (@emit [query $(#[$attr:meta])* $name:ident] [$($fields:tt)*]) => {
        $(#[$attr])*
        #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
        #[serde(default)]
        pub struct $name {
            $($fields)*
        }
    };
    (@emit [body $(#[$attr:meta])* $name:ident] [$($fields:tt)*]) => {
        $(#[$attr])*
        #[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
        #[serde(default)]
        pub struct $name {
            $($fields)*
            /// Keys this crate does not model, written back unchanged.
            #[serde(flatten)]
            pub extra: Map<String, Value>,
        }
    };
    () => {};
    ($(#[$attr:meta])* $kind:ident $name:ident { $($fields:tt)* } $($rest:tt)*) => {
        wire_structs!(@fields [$kind $(#[$attr])* $name] [] $($fields)*);
        wire_structs!($($rest)*);
    };
}
pub(crate) use wire_structs;
