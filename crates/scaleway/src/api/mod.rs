//! Typed methods, one per endpoint of `fleet_core`'s catalog (the 76
//! Instance v1 ones, the 14 Block ones, named `block_…`, and the 12
//! Instance v2alpha1 ones, named `v2alpha1_…`, like their operations),
//! grouped by resource. Every method takes the zone first,
//! then the path parameters in template order, then the query or body.
//! Single Instance v1 objects come back unwrapped from their envelope
//! (`{"server": …}` → `Server`; Block and v2alpha1 answer them bare); lists come back
//! as a [`crate::Page`] and, with `…_all`, as a stream of every item, paged
//! the way the endpoint's [`Api`](fleet_core::catalog::Api) pages.
//!
//! The methods are declared by `client_methods!`, one line per endpoint,
//! so the call, unwrap and paging code exists once; each doc line gives
//! the method and path template.

mod block_migration;
mod block_snapshot;
mod block_volume;
mod dashboard;
mod image;
mod ip;
mod placement_group;
mod private_nic;
mod product;
mod security_group;
mod server;
mod snapshot;
mod v2alpha1;
mod volume;

/// Declares typed [`crate::Client`] methods from one line per endpoint.
///
/// Every line names the method, its path parameters (all `&str`, in
/// template order), the query or body type when there is one, the
/// returned type, and `Operation(ResponseType)` with the envelope field to
/// unwrap (none: the response is returned whole). The kinds:
///
/// * `get name(params) => T = Op(R).field;` no query, no body;
/// * `query name(params) Q => T = Op(R).field;` one query, no paging;
/// * `send name(params) B => T = Op(R).field;` a JSON body;
/// * `empty name(params) B = Op;` a 204 answer, the body `B` optional;
/// * `list name / name_all(params) Q => T = Op(R).field;` one page as a
///   [`crate::Page`] plus a stream of every item (100 a page, in the
///   operation's family's page-size parameter).
macro_rules! client_methods {
    () => {};
    (
        $(#[$attr:meta])*
        get $name:ident($($param:ident),*) => $ret:ty = $op:ident($resp:ty) $(.$field:ident)?;
        $($rest:tt)*
    ) => {
        $(#[$attr])*
        pub async fn $name(
            &self,
            zone: ::fleet_core::Zone,
            $($param: &str,)*
        ) -> $crate::error::Result<$ret> {
            let (response, _) = self
                .call::<(), (), $resp>(
                    $crate::endpoint::Operation::$op,
                    zone,
                    &[$($param),*],
                    None,
                    None,
                )
                .await?;
            Ok(response $(.$field)?)
        }
        client_methods!($($rest)*);
    };
    (
        $(#[$attr:meta])*
        query $name:ident($($param:ident),*) $query:ty => $ret:ty = $op:ident($resp:ty) $(.$field:ident)?;
        $($rest:tt)*
    ) => {
        $(#[$attr])*
        pub async fn $name(
            &self,
            zone: ::fleet_core::Zone,
            $($param: &str,)*
            query: &$query,
        ) -> $crate::error::Result<$ret> {
            let (response, _) = self
                .call::<_, (), $resp>(
                    $crate::endpoint::Operation::$op,
                    zone,
                    &[$($param),*],
                    Some(query),
                    None,
                )
                .await?;
            Ok(response $(.$field)?)
        }
        client_methods!($($rest)*);
    };
    (
        $(#[$attr:meta])*
        send $name:ident($($param:ident),*) $request:ty => $ret:ty = $op:ident($resp:ty) $(.$field:ident)?;
        $($rest:tt)*
    ) => {
        $(#[$attr])*
        pub async fn $name(
            &self,
            zone: ::fleet_core::Zone,
            $($param: &str,)*
            request: &$request,
        ) -> $crate::error::Result<$ret> {
            let (response, _) = self
                .call::<(), _, $resp>(
                    $crate::endpoint::Operation::$op,
                    zone,
                    &[$($param),*],
                    None,
                    Some(request),
                )
                .await?;
            Ok(response $(.$field)?)
        }
        client_methods!($($rest)*);
    };
    (
        $(#[$attr:meta])*
        empty $name:ident($($param:ident),*) = $op:ident;
        $($rest:tt)*
    ) => {
        $(#[$attr])*
        pub async fn $name(
            &self,
            zone: ::fleet_core::Zone,
            $($param: &str,)*
        ) -> $crate::error::Result<()> {
            self.call_empty::<()>($crate::endpoint::Operation::$op, zone, &[$($param),*], None)
                .await
        }
        client_methods!($($rest)*);
    };
    (
        $(#[$attr:meta])*
        empty $name:ident($($param:ident),*) $request:ty = $op:ident;
        $($rest:tt)*
    ) => {
        $(#[$attr])*
        pub async fn $name(
            &self,
            zone: ::fleet_core::Zone,
            $($param: &str,)*
            request: &$request,
        ) -> $crate::error::Result<()> {
            self.call_empty($crate::endpoint::Operation::$op, zone, &[$($param),*], Some(request))
                .await
        }
        client_methods!($($rest)*);
    };
    (
        $(#[$attr:meta])*
        list $name:ident / $all:ident($($param:ident),*) $query:ty => $item:ty = $op:ident($resp:ty).$field:ident;
        $($rest:tt)*
    ) => {
        $(#[$attr])*
        ///
        /// One page; the query's paging field (`page`, or `page_token` for
        /// Instance v2alpha1) and the family's page size (`per_page` for
        /// Instance v1, else `page_size`) choose it.
        pub async fn $name(
            &self,
            zone: ::fleet_core::Zone,
            $($param: &str,)*
            query: &$query,
        ) -> $crate::error::Result<$crate::pagination::Page<$item>> {
            self.list_page(
                $crate::endpoint::Operation::$op,
                zone,
                &[$($param),*],
                query,
                None,
                |response: $resp| response.$field.into_iter().collect(),
            )
            .await
        }

        #[doc = concat!(
            "Every item of [`Client::", stringify!($name),
            "`](crate::Client::", stringify!($name), "), page after page (100 a page)."
        )]
        pub fn $all(
            &self,
            zone: ::fleet_core::Zone,
            $($param: &str,)*
            query: $query,
        ) -> ::futures::stream::BoxStream<'static, $crate::error::Result<$item>> {
            let client = self.clone();
            $(let $param = $param.to_owned();)*
            let paging = $crate::endpoint::Operation::$op.api().paging();
            let pages = $crate::pagination::paginate(paging, move |at: $crate::pagination::PageRequest| {
                let client = client.clone();
                $(let $param = $param.clone();)*
                let query = query.clone();
                async move {
                    client
                        .list_page(
                            $crate::endpoint::Operation::$op,
                            zone,
                            &[$($param.as_str()),*],
                            &query,
                            Some(at),
                            |response: $resp| response.$field.into_iter().collect(),
                        )
                        .await
                }
            });
            ::futures::StreamExt::boxed(pages)
        }
        client_methods!($($rest)*);
    };
}
use client_methods;
