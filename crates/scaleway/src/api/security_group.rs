//! Security groups and their rules.
//!
//! One method per catalog endpoint; each doc line gives the method and
//! path template. Lists also have a `…_all` variant streaming every item
//! of every page (see [`crate::pagination`]).

use fleet_core::{
    CreateSecurityGroupRequest, CreateSecurityGroupResponse, CreateSecurityGroupRuleRequest,
    CreateSecurityGroupRuleResponse, GetSecurityGroupResponse, GetSecurityGroupRuleResponse,
    ListDefaultSecurityGroupRulesResponse, ListSecurityGroupRulesQuery,
    ListSecurityGroupRulesResponse, ListSecurityGroupsQuery, ListSecurityGroupsResponse,
    SecurityGroup, SecurityGroupRule, SetSecurityGroupRequest, SetSecurityGroupResponse,
    SetSecurityGroupRuleRequest, SetSecurityGroupRuleResponse, SetSecurityGroupRulesRequest,
    SetSecurityGroupRulesResponse, UpdateSecurityGroupRequest, UpdateSecurityGroupResponse,
    UpdateSecurityGroupRuleRequest, UpdateSecurityGroupRuleResponse, Zone,
};
use futures::StreamExt;
use futures::stream::BoxStream;

use crate::client::Client;
use crate::endpoint::Operation;
use crate::error::Result;
use crate::pagination::{Page, PageRequest, paginate};

impl Client {
    /// `GET /instance/v1/zones/{zone}/security_groups`
    ///
    /// One page; `query.page`/`query.per_page` choose it.
    pub async fn list_security_groups(
        &self,
        zone: Zone,
        query: &ListSecurityGroupsQuery,
    ) -> Result<Page<SecurityGroup>> {
        let (response, total_count) = self
            .call::<_, _, ListSecurityGroupsResponse>(
                Operation::ListSecurityGroups,
                zone,
                &[],
                Some(query),
                None::<&()>,
            )
            .await?;
        Ok(Page {
            items: response.security_groups,
            total_count,
        })
    }

    /// Every item of [`Client::list_security_groups`], page after page (`per_page = 100`).
    pub fn list_security_groups_all(
        &self,
        zone: Zone,
        query: ListSecurityGroupsQuery,
    ) -> BoxStream<'static, Result<SecurityGroup>> {
        let client = self.clone();
        paginate(move |at: PageRequest| {
            let client = client.clone();
            let mut query = query.clone();
            query.page = Some(at.page);
            query.per_page = Some(at.per_page);
            async move { client.list_security_groups(zone, &query).await }
        })
        .boxed()
    }

    /// `POST /instance/v1/zones/{zone}/security_groups`
    pub async fn create_security_group(
        &self,
        zone: Zone,
        request: &CreateSecurityGroupRequest,
    ) -> Result<SecurityGroup> {
        let (response, _) = self
            .call::<_, _, CreateSecurityGroupResponse>(
                Operation::CreateSecurityGroup,
                zone,
                &[],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.security_group)
    }

    /// `GET /instance/v1/zones/{zone}/security_groups/{security_group_id}`
    pub async fn get_security_group(
        &self,
        zone: Zone,
        security_group_id: &str,
    ) -> Result<SecurityGroup> {
        let (response, _) = self
            .call::<_, _, GetSecurityGroupResponse>(
                Operation::GetSecurityGroup,
                zone,
                &[security_group_id],
                None::<&()>,
                None::<&()>,
            )
            .await?;
        Ok(response.security_group)
    }

    /// `PATCH /instance/v1/zones/{zone}/security_groups/{security_group_id}`
    pub async fn update_security_group(
        &self,
        zone: Zone,
        security_group_id: &str,
        request: &UpdateSecurityGroupRequest,
    ) -> Result<SecurityGroup> {
        let (response, _) = self
            .call::<_, _, UpdateSecurityGroupResponse>(
                Operation::UpdateSecurityGroup,
                zone,
                &[security_group_id],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.security_group)
    }

    /// `PUT /instance/v1/zones/{zone}/security_groups/{id}`
    pub async fn set_security_group(
        &self,
        zone: Zone,
        id: &str,
        request: &SetSecurityGroupRequest,
    ) -> Result<SecurityGroup> {
        let (response, _) = self
            .call::<_, _, SetSecurityGroupResponse>(
                Operation::SetSecurityGroup,
                zone,
                &[id],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.security_group)
    }

    /// `DELETE /instance/v1/zones/{zone}/security_groups/{security_group_id}`
    pub async fn delete_security_group(&self, zone: Zone, security_group_id: &str) -> Result<()> {
        self.call_empty(
            Operation::DeleteSecurityGroup,
            zone,
            &[security_group_id],
            None::<&()>,
        )
        .await
    }

    /// `GET /instance/v1/zones/{zone}/security_groups/default/rules`
    pub async fn list_default_security_group_rules(
        &self,
        zone: Zone,
    ) -> Result<Vec<SecurityGroupRule>> {
        let (response, _) = self
            .call::<_, _, ListDefaultSecurityGroupRulesResponse>(
                Operation::ListDefaultSecurityGroupRules,
                zone,
                &[],
                None::<&()>,
                None::<&()>,
            )
            .await?;
        Ok(response.rules)
    }

    /// `GET /instance/v1/zones/{zone}/security_groups/{security_group_id}/rules`
    ///
    /// One page; `query.page`/`query.per_page` choose it.
    pub async fn list_security_group_rules(
        &self,
        zone: Zone,
        security_group_id: &str,
        query: &ListSecurityGroupRulesQuery,
    ) -> Result<Page<SecurityGroupRule>> {
        let (response, total_count) = self
            .call::<_, _, ListSecurityGroupRulesResponse>(
                Operation::ListSecurityGroupRules,
                zone,
                &[security_group_id],
                Some(query),
                None::<&()>,
            )
            .await?;
        Ok(Page {
            items: response.rules,
            total_count,
        })
    }

    /// Every item of [`Client::list_security_group_rules`], page after page (`per_page = 100`).
    pub fn list_security_group_rules_all(
        &self,
        zone: Zone,
        security_group_id: &str,
        query: ListSecurityGroupRulesQuery,
    ) -> BoxStream<'static, Result<SecurityGroupRule>> {
        let client = self.clone();
        let security_group_id = security_group_id.to_owned();
        paginate(move |at: PageRequest| {
            let client = client.clone();
            let security_group_id = security_group_id.clone();
            let mut query = query.clone();
            query.page = Some(at.page);
            query.per_page = Some(at.per_page);
            async move {
                client
                    .list_security_group_rules(zone, &security_group_id, &query)
                    .await
            }
        })
        .boxed()
    }

    /// `POST /instance/v1/zones/{zone}/security_groups/{security_group_id}/rules`
    pub async fn create_security_group_rule(
        &self,
        zone: Zone,
        security_group_id: &str,
        request: &CreateSecurityGroupRuleRequest,
    ) -> Result<SecurityGroupRule> {
        let (response, _) = self
            .call::<_, _, CreateSecurityGroupRuleResponse>(
                Operation::CreateSecurityGroupRule,
                zone,
                &[security_group_id],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.rule)
    }

    /// `PUT /instance/v1/zones/{zone}/security_groups/{security_group_id}/rules`
    pub async fn set_security_group_rules(
        &self,
        zone: Zone,
        security_group_id: &str,
        request: &SetSecurityGroupRulesRequest,
    ) -> Result<Vec<SecurityGroupRule>> {
        let (response, _) = self
            .call::<_, _, SetSecurityGroupRulesResponse>(
                Operation::SetSecurityGroupRules,
                zone,
                &[security_group_id],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.rules)
    }

    /// `GET /instance/v1/zones/{zone}/security_groups/{security_group_id}/rules/{security_group_rule_id}`
    pub async fn get_security_group_rule(
        &self,
        zone: Zone,
        security_group_id: &str,
        security_group_rule_id: &str,
    ) -> Result<SecurityGroupRule> {
        let (response, _) = self
            .call::<_, _, GetSecurityGroupRuleResponse>(
                Operation::GetSecurityGroupRule,
                zone,
                &[security_group_id, security_group_rule_id],
                None::<&()>,
                None::<&()>,
            )
            .await?;
        Ok(response.rule)
    }

    /// `PATCH /instance/v1/zones/{zone}/security_groups/{security_group_id}/rules/{security_group_rule_id}`
    pub async fn update_security_group_rule(
        &self,
        zone: Zone,
        security_group_id: &str,
        security_group_rule_id: &str,
        request: &UpdateSecurityGroupRuleRequest,
    ) -> Result<SecurityGroupRule> {
        let (response, _) = self
            .call::<_, _, UpdateSecurityGroupRuleResponse>(
                Operation::UpdateSecurityGroupRule,
                zone,
                &[security_group_id, security_group_rule_id],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.rule)
    }

    /// `PUT /instance/v1/zones/{zone}/security_groups/{security_group_id}/rules/{security_group_rule_id}`
    pub async fn set_security_group_rule(
        &self,
        zone: Zone,
        security_group_id: &str,
        security_group_rule_id: &str,
        request: &SetSecurityGroupRuleRequest,
    ) -> Result<SecurityGroupRule> {
        let (response, _) = self
            .call::<_, _, SetSecurityGroupRuleResponse>(
                Operation::SetSecurityGroupRule,
                zone,
                &[security_group_id, security_group_rule_id],
                None::<&()>,
                Some(request),
            )
            .await?;
        Ok(response.rule)
    }

    /// `DELETE /instance/v1/zones/{zone}/security_groups/{security_group_id}/rules/{security_group_rule_id}`
    pub async fn delete_security_group_rule(
        &self,
        zone: Zone,
        security_group_id: &str,
        security_group_rule_id: &str,
    ) -> Result<()> {
        self.call_empty(
            Operation::DeleteSecurityGroupRule,
            zone,
            &[security_group_id, security_group_rule_id],
            None::<&()>,
        )
        .await
    }
}
