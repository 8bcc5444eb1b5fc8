//! `X-Auth-Token` authentication and tenants.
//!
//! Without a tokens file any UUID key is accepted and is its own tenant: its
//! organization id and default project id equal the key. A tokens file
//! (JSON) fixes keys to an organization and a set of projects:
//! `{"tokens": [{"secret_key": "…", "organization_id": "…", "projects": ["…"], "default_project_id": "…"}]}`.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use fleet_core::{AuthenticationMethod, AuthenticationReason};

use crate::errors::Error;
use crate::util::parse_uuid;

/// Who is calling: the organization and the projects it may touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    /// Organization id.
    pub organization: String,
    /// Project used when a create names none.
    pub default_project: String,
    /// Every project this key may see and change.
    pub projects: Vec<String>,
}

impl Tenant {
    /// Whether a resource of `project` is visible to this tenant.
    pub fn owns(&self, project: &str) -> bool {
        self.projects.iter().any(|p| p == project)
    }
}

/// One entry of a tokens file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenEntry {
    /// The `X-Auth-Token` value.
    pub secret_key: String,
    /// Organization id of the key.
    pub organization_id: String,
    /// Projects the key may use (the first is the default when
    /// `default_project_id` is absent).
    #[serde(default)]
    pub projects: Vec<String>,
    /// Default project.
    #[serde(default)]
    pub default_project_id: Option<String>,
}

/// A tokens file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokensConfig {
    /// Accepted keys.
    pub tokens: Vec<TokenEntry>,
}

/// Errors reading a tokens file.
#[derive(Debug, thiserror::Error)]
pub enum TokensError {
    /// The file could not be read.
    #[error("cannot read tokens file {path}: {source}")]
    Read {
        /// Path.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The file is not valid JSON of the expected shape.
    #[error("invalid tokens file {path}: {source}")]
    Parse {
        /// Path.
        path: String,
        /// Cause.
        source: serde_json::Error,
    },
}

impl TokensConfig {
    /// Read a tokens file.
    pub fn from_file(path: &Path) -> Result<Self, TokensError> {
        let text = std::fs::read_to_string(path).map_err(|source| TokensError::Read {
            path: path.display().to_string(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| TokensError::Parse {
            path: path.display().to_string(),
            source,
        })
    }
}

/// Resolves tokens to tenants.
#[derive(Debug, Clone, Default)]
pub struct Authenticator {
    fixed: Option<HashMap<String, Tenant>>,
}

impl Authenticator {
    /// From an optional tokens configuration.
    pub fn new(tokens: Option<&TokensConfig>) -> Self {
        let fixed = tokens.map(|cfg| {
            cfg.tokens
                .iter()
                .map(|t| {
                    let mut projects = t.projects.clone();
                    let default_project = t
                        .default_project_id
                        .clone()
                        .or_else(|| projects.first().cloned())
                        .unwrap_or_else(|| t.organization_id.clone());
                    if !projects.contains(&default_project) {
                        projects.push(default_project.clone());
                    }
                    (
                        t.secret_key.clone(),
                        Tenant {
                            organization: t.organization_id.clone(),
                            default_project,
                            projects,
                        },
                    )
                })
                .collect()
        });
        Self { fixed }
    }

    /// Authenticate a request's `X-Auth-Token`.
    pub fn authenticate(&self, token: Option<&str>) -> Result<Tenant, Error> {
        let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) else {
            return Err(Error::denied_authentication(
                AuthenticationMethod::UnknownMethod,
                AuthenticationReason::InvalidArgument,
            ));
        };
        match &self.fixed {
            Some(map) => map.get(token).cloned().ok_or_else(|| {
                Error::denied_authentication(
                    AuthenticationMethod::ApiKey,
                    AuthenticationReason::NotFound,
                )
            }),
            None => {
                let id = parse_uuid(token).ok_or_else(|| {
                    Error::denied_authentication(
                        AuthenticationMethod::ApiKey,
                        AuthenticationReason::InvalidArgument,
                    )
                })?;
                let id = id.to_string();
                Ok(Tenant {
                    organization: id.clone(),
                    default_project: id.clone(),
                    projects: vec![id],
                })
            }
        }
    }
}
