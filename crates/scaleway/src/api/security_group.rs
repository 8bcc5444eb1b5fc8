//! Security groups and their rules.

use fleet_core::{
    CreateSecurityGroupRequest, CreateSecurityGroupResponse, CreateSecurityGroupRuleRequest,
    CreateSecurityGroupRuleResponse, GetSecurityGroupResponse, GetSecurityGroupRuleResponse,
    ListDefaultSecurityGroupRulesResponse, ListSecurityGroupRulesQuery,
    ListSecurityGroupRulesResponse, ListSecurityGroupsQuery, ListSecurityGroupsResponse,
    SecurityGroup, SecurityGroupRule, SetSecurityGroupRequest, SetSecurityGroupResponse,
    SetSecurityGroupRuleRequest, SetSecurityGroupRuleResponse, SetSecurityGroupRulesRequest,
    SetSecurityGroupRulesResponse, UpdateSecurityGroupRequest, UpdateSecurityGroupResponse,
    UpdateSecurityGroupRuleRequest, UpdateSecurityGroupRuleResponse,
};

use super::client_methods;
use crate::client::Client;

impl Client {
    client_methods! {
        /// `GET /instance/v1/zones/{zone}/security_groups`
        list list_security_groups / list_security_groups_all() ListSecurityGroupsQuery => SecurityGroup
            = ListSecurityGroups(ListSecurityGroupsResponse).security_groups;
        /// `POST /instance/v1/zones/{zone}/security_groups`
        send create_security_group() CreateSecurityGroupRequest => SecurityGroup
            = CreateSecurityGroup(CreateSecurityGroupResponse).security_group;
        /// `GET /instance/v1/zones/{zone}/security_groups/{security_group_id}`
        get get_security_group(security_group_id) => SecurityGroup
            = GetSecurityGroup(GetSecurityGroupResponse).security_group;
        /// `PATCH /instance/v1/zones/{zone}/security_groups/{security_group_id}`
        send update_security_group(security_group_id) UpdateSecurityGroupRequest => SecurityGroup
            = UpdateSecurityGroup(UpdateSecurityGroupResponse).security_group;
        /// `PUT /instance/v1/zones/{zone}/security_groups/{id}`
        send set_security_group(id) SetSecurityGroupRequest => SecurityGroup
            = SetSecurityGroup(SetSecurityGroupResponse).security_group;
        /// `DELETE /instance/v1/zones/{zone}/security_groups/{security_group_id}`
        empty delete_security_group(security_group_id) = DeleteSecurityGroup;

        /// `GET /instance/v1/zones/{zone}/security_groups/default/rules`
        get list_default_security_group_rules() => Vec<SecurityGroupRule>
            = ListDefaultSecurityGroupRules(ListDefaultSecurityGroupRulesResponse).rules;
        /// `GET /instance/v1/zones/{zone}/security_groups/{security_group_id}/rules`
        list list_security_group_rules / list_security_group_rules_all(security_group_id)
            ListSecurityGroupRulesQuery => SecurityGroupRule
            = ListSecurityGroupRules(ListSecurityGroupRulesResponse).rules;
        /// `POST /instance/v1/zones/{zone}/security_groups/{security_group_id}/rules`
        send create_security_group_rule(security_group_id) CreateSecurityGroupRuleRequest => SecurityGroupRule
            = CreateSecurityGroupRule(CreateSecurityGroupRuleResponse).rule;
        /// `PUT /instance/v1/zones/{zone}/security_groups/{security_group_id}/rules`
        send set_security_group_rules(security_group_id) SetSecurityGroupRulesRequest => Vec<SecurityGroupRule>
            = SetSecurityGroupRules(SetSecurityGroupRulesResponse).rules;
        /// `GET /instance/v1/zones/{zone}/security_groups/{security_group_id}/rules/{security_group_rule_id}`
        get get_security_group_rule(security_group_id, security_group_rule_id) => SecurityGroupRule
            = GetSecurityGroupRule(GetSecurityGroupRuleResponse).rule;
        /// `PATCH /instance/v1/zones/{zone}/security_groups/{security_group_id}/rules/{security_group_rule_id}`
        send update_security_group_rule(security_group_id, security_group_rule_id)
            UpdateSecurityGroupRuleRequest => SecurityGroupRule
            = UpdateSecurityGroupRule(UpdateSecurityGroupRuleResponse).rule;
        /// `PUT /instance/v1/zones/{zone}/security_groups/{security_group_id}/rules/{security_group_rule_id}`
        send set_security_group_rule(security_group_id, security_group_rule_id)
            SetSecurityGroupRuleRequest => SecurityGroupRule
            = SetSecurityGroupRule(SetSecurityGroupRuleResponse).rule;
        /// `DELETE /instance/v1/zones/{zone}/security_groups/{security_group_id}/rules/{security_group_rule_id}`
        empty delete_security_group_rule(security_group_id, security_group_rule_id) = DeleteSecurityGroupRule;
    }
}
