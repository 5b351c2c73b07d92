//! Names of the `AuditLogRecordType` values, as the Office 365 Management
//! Activity API schema documents them. Exports made with
//! `Search-UnifiedAuditLog | Export-Csv` and Graph audit queries give the
//! name; AuditData gives the number. Both directions are needed.

const TABLE: &[(u32, &str)] = &[
    (1, "ExchangeAdmin"),
    (2, "ExchangeItem"),
    (3, "ExchangeItemGroup"),
    (4, "SharePoint"),
    (6, "SharePointFileOperation"),
    (7, "OneDrive"),
    (8, "AzureActiveDirectory"),
    (9, "AzureActiveDirectoryAccountLogon"),
    (10, "DataCenterSecurityCmdlet"),
    (11, "ComplianceDLPSharePoint"),
    (12, "Sway"),
    (13, "ComplianceDLPExchange"),
    (14, "SharePointSharingOperation"),
    (15, "AzureActiveDirectoryStsLogon"),
    (16, "SkypeForBusinessPSTNUsage"),
    (17, "SkypeForBusinessUsersBlocked"),
    (18, "SecurityComplianceCenterEOPCmdlet"),
    (19, "ExchangeAggregatedOperation"),
    (20, "PowerBIAudit"),
    (21, "CRM"),
    (22, "Yammer"),
    (23, "SkypeForBusinessCmdlets"),
    (24, "Discovery"),
    (25, "MicrosoftTeams"),
    (28, "ThreatIntelligence"),
    (29, "MailSubmission"),
    (30, "MicrosoftFlow"),
    (31, "AeD"),
    (32, "MicrosoftStream"),
    (33, "ComplianceDLPSharePointClassification"),
    (34, "ThreatFinder"),
    (35, "Project"),
    (36, "SharePointListOperation"),
    (37, "SharePointCommentOperation"),
    (38, "DataGovernance"),
    (39, "Kaizala"),
    (40, "SecurityComplianceAlerts"),
    (41, "ThreatIntelligenceUrl"),
    (42, "SecurityComplianceInsights"),
    (43, "MIPLabel"),
    (44, "WorkplaceAnalytics"),
    (45, "PowerAppsApp"),
    (46, "PowerAppsPlan"),
    (47, "ThreatIntelligenceAtpContent"),
    (48, "LabelContentExplorer"),
    (49, "TeamsHealthcare"),
    (50, "ExchangeItemAggregated"),
    (51, "HygieneEvent"),
    (52, "DataInsightsRestApiAudit"),
    (53, "InformationBarrierPolicyApplication"),
    (54, "SharePointListItemOperation"),
    (55, "SharePointContentTypeOperation"),
    (56, "SharePointFieldOperation"),
    (57, "MicrosoftTeamsAdmin"),
    (58, "HRSignal"),
    (59, "MicrosoftTeamsDevice"),
    (60, "MicrosoftTeamsAnalytics"),
    (61, "InformationWorkerProtection"),
    (62, "Campaign"),
    (63, "DLPEndpoint"),
    (64, "AirInvestigation"),
    (65, "Quarantine"),
    (66, "MicrosoftForms"),
    (67, "ApplicationAudit"),
    (68, "ComplianceSupervisionExchange"),
    (69, "CustomerKeyServiceEncryption"),
    (70, "OfficeNative"),
    (71, "MipAutoLabelSharePointItem"),
    (72, "MipAutoLabelSharePointPolicyLocation"),
    (73, "MicrosoftTeamsShifts"),
    (75, "MipAutoLabelExchangeItem"),
    (76, "CortanaBriefing"),
    (78, "WDATPAlerts"),
    (82, "SensitivityLabelPolicyMatch"),
    (83, "SensitivityLabelAction"),
    (84, "SensitivityLabeledFileAction"),
    (85, "AttackSim"),
    (86, "AirManualInvestigation"),
    (87, "SecurityComplianceRBAC"),
    (88, "UserTraining"),
    (89, "AirAdminActionInvestigation"),
    (90, "MSTIC"),
    (91, "PhysicalBadgingSignal"),
    (93, "AipDiscover"),
    (94, "AipSensitivityLabelAction"),
    (95, "AipProtectionAction"),
    (96, "AipFileDeleted"),
    (97, "AipHeartBeat"),
    (98, "MCASAlerts"),
    (99, "OnPremisesFileShareScannerDlp"),
    (100, "OnPremisesSharePointScannerDlp"),
    (101, "ExchangeSearch"),
    (102, "SharePointSearch"),
    (103, "PrivacyInsights"),
    (105, "MyAnalyticsSettings"),
    (106, "SecurityComplianceUserChange"),
    (107, "ComplianceDLPExchangeClassification"),
    (109, "MipExactDataMatch"),
    (113, "MS365DCustomDetection"),
    (147, "CoreReportingSettings"),
    (148, "ComplianceConnector"),
    (154, "OMEPortal"),
    (174, "DataShareOperation"),
    (181, "EduDataLakeDownloadOperation"),
    (183, "MicrosoftGraphDataConnectOperation"),
    (186, "PowerPagesSite"),
    (188, "PlannerPlan"),
];

/// The documented name of a record type number.
pub fn name(number: u32) -> Option<&'static str> {
    TABLE
        .binary_search_by_key(&number, |&(n, _)| n)
        .ok()
        .map(|i| TABLE[i].1)
}

/// The number of a record type name (case-insensitive).
pub fn number(name: &str) -> Option<u32> {
    let name = name.trim();
    TABLE
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(name))
        .map(|&(n, _)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(TABLE.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn both_directions() {
        assert_eq!(name(25), Some("MicrosoftTeams"));
        assert_eq!(number("microsoftteams"), Some(25));
        assert_eq!(number("AzureActiveDirectoryStsLogon"), Some(15));
        assert_eq!(name(26), None);
        assert_eq!(number("NoSuchType"), None);
    }
}
