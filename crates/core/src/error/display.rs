//! The one-line message of each error body.

use std::fmt;

use super::body::*;

/// Writes `resource "id"` or just the part that is known.
fn write_resource(f: &mut fmt::Formatter<'_>, resource: &str, resource_id: &str) -> fmt::Result {
    match (resource.is_empty(), resource_id.is_empty()) {
        (false, false) => write!(f, "{resource} {resource_id:?}"),
        (false, true) => f.write_str(resource),
        (true, false) => write!(f, "{resource_id:?}"),
        (true, true) => f.write_str("resource"),
    }
}

impl fmt::Display for InvalidArgumentsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid arguments")?;
        for (i, d) in self.details.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { ", " })?;
            write!(f, "{} ({}", d.argument_name, d.reason)?;
            if !d.help_message.is_empty() {
                write!(f, ": {}", d.help_message)?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}
impl std::error::Error for InvalidArgumentsError {}

impl fmt::Display for NotFoundError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_resource(f, &self.resource, &self.resource_id)?;
        f.write_str(" not found")
    }
}
impl std::error::Error for NotFoundError {}

impl fmt::Display for QuotasExceededError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("quotas exceeded")?;
        for (i, d) in self.details.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { ", " })?;
            write!(
                f,
                "{} (current {}, quota {})",
                d.resource, d.current, d.quota
            )?;
        }
        Ok(())
    }
}
impl std::error::Error for QuotasExceededError {}

impl fmt::Display for PreconditionFailedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("precondition failed")?;
        if let Some(p) = &self.precondition {
            write!(f, " ({p})")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(help) = self.help_message.as_deref().filter(|h| !h.is_empty()) {
            write!(f, " ({help})")?;
        }
        Ok(())
    }
}
impl std::error::Error for PreconditionFailedError {}

impl fmt::Display for TransientStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_resource(f, &self.resource, &self.resource_id)?;
        write!(f, " is in transient state {:?}", self.current_state)
    }
}
impl std::error::Error for TransientStateError {}

impl fmt::Display for PermissionsDeniedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("permissions denied")?;
        for (i, d) in self.details.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { ", " })?;
            write!(f, "{} on {}", d.action, d.resource)?;
        }
        Ok(())
    }
}
impl std::error::Error for PermissionsDeniedError {}

impl fmt::Display for DeniedAuthenticationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "authentication denied (method {}, reason {})",
            self.method, self.reason
        )
    }
}
impl std::error::Error for DeniedAuthenticationError {}

impl fmt::Display for ResourceExpiredError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_resource(f, &self.resource, &self.resource_id)?;
        f.write_str(" expired")?;
        if let Some(since) = &self.expired_since {
            write!(f, " since {since}")?;
        }
        Ok(())
    }
}
impl std::error::Error for ResourceExpiredError {}

impl fmt::Display for OutOfStockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.resource.is_empty() {
            f.write_str("out of stock")
        } else {
            write!(f, "{} is out of stock", self.resource)
        }
    }
}
impl std::error::Error for OutOfStockError {}

impl fmt::Display for LockedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_resource(f, &self.resource, &self.resource_id)?;
        f.write_str(" is locked")
    }
}
impl std::error::Error for LockedError {}

impl fmt::Display for ConflictError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conflict: {}", self.message)
    }
}
impl std::error::Error for ConflictError {}

impl fmt::Display for UnknownResourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown resource: {}", self.message)
    }
}
impl std::error::Error for UnknownResourceError {}

impl fmt::Display for InvalidRequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid request: {}", self.message)?;
        for (i, (field, messages)) in self.fields.iter().flatten().enumerate() {
            f.write_str(if i == 0 { " (" } else { ", " })?;
            write!(f, "{field}: {}", messages.join("; "))?;
        }
        if self.fields.as_ref().is_some_and(|m| !m.is_empty()) {
            f.write_str(")")?;
        }
        Ok(())
    }
}
impl std::error::Error for InvalidRequestError {}

impl fmt::Display for UnknownError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "api error {:?}: {}",
            self.error_type().unwrap_or(""),
            self.message().unwrap_or("")
        )
    }
}
impl std::error::Error for UnknownError {}
