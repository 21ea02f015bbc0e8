//! The coordinator's pages' words in the pilot's two languages: rounds, a round's report,
//! balances, members, breaks and quotas. Chosen with the rest of a page's words
//! (`super::text::choose`), by the same language code.

/// Every word the coordinator's pages show, in one language.
#[derive(Debug)]
pub struct Words {
    /// The answer to a role that may not see the coordinator's pages.
    pub not_allowed: &'static str,
    /// Navigation and the rounds list's title.
    pub rounds: &'static str,
    /// What the rounds list shows.
    pub rounds_intro: &'static str,
    /// An empty list of rounds.
    pub no_rounds: &'static str,
    /// Column: the round.
    pub round: &'static str,
    /// Column: the status.
    pub status: &'static str,
    /// Column: the period.
    pub period: &'static str,
    /// Column: the netting mode.
    pub mode: &'static str,
    /// Column: admissions settled.
    pub settled: &'static str,
    /// Column and section: countersignatures.
    pub countersignatures: &'static str,
    /// The awaited countersignatures.
    pub awaiting: &'static str,
    /// A round not proposed yet.
    pub not_proposed: &'static str,
    /// The report's version.
    pub version: &'static str,
    /// The report's digest.
    pub digest: &'static str,
    /// The log's size at the cut-off.
    pub tree_size: &'static str,
    /// Admissions needed in the round's mode.
    pub required: &'static str,
    /// Admissions needed without netting.
    pub required_gross: &'static str,
    /// The netting efficiency.
    pub efficiency: &'static str,
    /// Section: per-state figures.
    pub figures: &'static str,
    /// Column: the state.
    pub state: &'static str,
    /// Column: people returned.
    pub returned: &'static str,
    /// Column: people received.
    pub received: &'static str,
    /// Column: people admitted.
    pub admitted: &'static str,
    /// Column: people released.
    pub released: &'static str,
    /// Column: debts.
    pub debts: &'static str,
    /// Column: credits.
    pub credits: &'static str,
    /// Column: position.
    pub position: &'static str,
    /// Column and section: debts carried in.
    pub carried_in: &'static str,
    /// Section: debts carried forward.
    pub carry_forward: &'static str,
    /// Section: instructions.
    pub instructions: &'static str,
    /// Column: the admitting state.
    pub admitting: &'static str,
    /// Column: the origin state.
    pub origin: &'static str,
    /// Column: a count of people.
    pub count: &'static str,
    /// Column: redirected.
    pub redirected: &'static str,
    /// Column: the deadline.
    pub perform_by: &'static str,
    /// Yes.
    pub yes: &'static str,
    /// No.
    pub no: &'static str,
    /// Section: the flow diagram.
    pub flows: &'static str,
    /// The diagram's legend.
    pub flows_legend: &'static str,
    /// Section and navigation: breaks.
    pub breaks: &'static str,
    /// What the breaks list shows.
    pub breaks_intro: &'static str,
    /// Open breaks at the cut-off.
    pub open_breaks: &'static str,
    /// Nothing to list.
    pub none: &'static str,
    /// Column: a break's kind.
    pub kind: &'static str,
    /// Column: a break's age.
    pub age: &'static str,
    /// Column: how many breaks.
    pub how_many: &'static str,
    /// Section: signatures.
    pub signatures: &'static str,
    /// Column: who signed.
    pub signer: &'static str,
    /// Column: the key's id.
    pub key_id: &'static str,
    /// Column: when signed.
    pub signed_at: &'static str,
    /// The coordinator, as a signer.
    pub coordinator: &'static str,
    /// Section: downloads.
    pub downloads: &'static str,
    /// Column: a break.
    pub break_id: &'static str,
    /// Column: the case.
    pub case: &'static str,
    /// Column: the pair of states.
    pub pair: &'static str,
    /// Column: when detected.
    pub detected: &'static str,
    /// Column: who reported.
    pub reported_by: &'static str,
    /// The waiver's reason field.
    pub reason: &'static str,
    /// The waiver's button.
    pub resolve: &'static str,
    /// Navigation and title: quotas.
    pub quotas: &'static str,
    /// Section: capacities.
    pub capacities: &'static str,
    /// Column: a capacity.
    pub capacity: &'static str,
    /// Section: parity limits.
    pub parity_limits: &'static str,
    /// Column: a parity limit.
    pub limit: &'static str,
    /// Column: last set.
    pub updated: &'static str,
    /// The capacity form's title and button.
    pub set_capacity: &'static str,
    /// The period's first day.
    pub from: &'static str,
    /// The period's end, exclusive.
    pub until: &'static str,
    /// The pager's button.
    pub next_page: &'static str,
    /// Column: whether a signature verifies.
    pub verification: &'static str,
    /// A signature that verifies.
    pub verified: &'static str,
    /// A signature that does not verify.
    pub not_verified: &'static str,
    /// How signatures are checked.
    pub verification_legend: &'static str,
    /// Section: the difference from the previous final round.
    pub difference: &'static str,
    /// The previous final round.
    pub previous_round: &'static str,
    /// No earlier final round.
    pub no_previous: &'static str,
    /// Column: the previous round's figure.
    pub previous: &'static str,
    /// Column: this round's figure.
    pub this_round: &'static str,
    /// Column: the change.
    pub change: &'static str,
    /// Column: which figure.
    pub figure: &'static str,
    /// The mark of a redirected arrow.
    pub redirected_mark: &'static str,
    /// The standalone report's note.
    pub exported: &'static str,
    /// Navigation and title: balances.
    pub balances: &'static str,
    /// What the balances page shows.
    pub balances_intro: &'static str,
    /// Section: debts and credits now.
    pub now: &'static str,
    /// The log size the balances were read at.
    pub read_at: &'static str,
    /// Column: returns on a pair.
    pub returns: &'static str,
    /// Column: admissions on a pair.
    pub admissions: &'static str,
    /// Column: a pair's debt.
    pub debt: &'static str,
    /// Column: a pair's credit.
    pub credit: &'static str,
    /// Section: positions.
    pub positions: &'static str,
    /// Section: the charts.
    pub over_periods: &'static str,
    /// The charts' legend.
    pub chart_legend: &'static str,
    /// No final round yet.
    pub no_periods: &'static str,
    /// Column: a credit's holder.
    pub holder: &'static str,
    /// Column: a credit's counterpart.
    pub counterpart: &'static str,
    /// Navigation and title: members.
    pub members: &'static str,
    /// What the members page shows.
    pub members_intro: &'static str,
    /// The directory's version.
    pub directory_version: &'static str,
    /// When the directory was issued.
    pub issued_at: &'static str,
    /// Column: why a status changed.
    pub reason_code: &'static str,
    /// Column: when a state joined.
    pub joined: &'static str,
    /// Column: certificates.
    pub certificates: &'static str,
    /// Column: certificate expiry.
    pub expires: &'static str,
    /// Column: signing keys.
    pub signing_keys: &'static str,
    /// Section: agreements.
    pub agreements: &'static str,
    /// Column: regimes.
    pub regimes: &'static str,
    /// Column: effective from.
    pub effective_from: &'static str,
    /// Column: sunset.
    pub sunset: &'static str,
    /// No parity limit or sunset.
    pub no_limit: &'static str,
    /// Section: what remains per state after the round.
    pub residuals: &'static str,
    /// Column: people a state still has to admit.
    pub to_admit: &'static str,
    /// Column: people who should still leave a state.
    pub to_release: &'static str,
}

/// English.
pub const ENGLISH: Words = Words {
    not_allowed: "These pages are for the coordinator's operators and for diplomats.",
    rounds: "Settlement rounds",
    rounds_intro: "Every settlement round, newest period first.",
    no_rounds: "No round yet.",
    round: "Round",
    status: "Status",
    period: "Period",
    mode: "Netting",
    settled: "Settled",
    countersignatures: "Countersignatures",
    awaiting: "Awaiting",
    not_proposed: "No report has been proposed for this round yet.",
    version: "Version",
    digest: "Report digest (SHA-256)",
    tree_size: "Log size at cut-off",
    required: "Admissions required",
    required_gross: "Required without netting",
    efficiency: "Netting efficiency",
    figures: "Figures per state",
    state: "State",
    returned: "Returned",
    received: "Received",
    admitted: "Admitted",
    released: "Released",
    debts: "Debts",
    credits: "Credits",
    position: "Position",
    carried_in: "Carried in",
    carry_forward: "Carried forward",
    instructions: "Admission instructions",
    admitting: "Admitting state",
    origin: "Origin state",
    count: "People",
    redirected: "Redirected",
    perform_by: "Perform by",
    yes: "yes",
    no: "no",
    flows: "Flows between states",
    flows_legend: "Each arrow is one instruction, from the origin state to the admitting state; its width grows with the number of people; redirected admissions are dashed, in red, and labelled.",
    breaks: "Breaks",
    breaks_intro: "Reconciliation breaks, by kind and age, oldest first.",
    open_breaks: "Open breaks at the cut-off",
    none: "None.",
    kind: "Kind",
    age: "Age",
    how_many: "Number",
    signatures: "Signatures",
    signer: "Signer",
    key_id: "Key id",
    signed_at: "Signed at",
    coordinator: "Coordinator",
    downloads: "Downloads",
    break_id: "Break",
    case: "Case",
    pair: "States",
    detected: "Detected",
    reported_by: "Reported by",
    reason: "Reason (how the two states settled it)",
    resolve: "Waive",
    quotas: "Quotas",
    capacities: "Admission capacities",
    capacity: "Capacity",
    parity_limits: "Parity limits",
    limit: "Limit",
    updated: "Last set",
    set_capacity: "Set a capacity",
    from: "From",
    until: "Until (exclusive)",
    next_page: "Next page",
    verification: "Verification",
    verified: "verified",
    not_verified: "NOT verified",
    verification_legend: "Each signature is checked over the report's canonical bytes with the key the coordinator's signed directory lists for its signer, valid when the report was computed; the coordinator's also with the report's content (every figure recomputed, the optimality certificate checked).",
    difference: "Difference from the previous round",
    previous_round: "Previous final round",
    no_previous: "No earlier final round to compare with.",
    previous: "Previous",
    this_round: "This round",
    change: "Change",
    figure: "Figure",
    redirected_mark: "redirected",
    exported: "Exported from Accord's coordinator. The figures and signatures are the signed report's; the downloads are on the coordinator's gateway.",
    balances: "Balances",
    balances_intro: "Per ordered pair of states: returns and admissions in each settled period (from the final rounds' signed reports), and debts and credits now (from the ledger's latest head).",
    now: "Debts and credits now",
    read_at: "Read at log size",
    returns: "Returns",
    admissions: "Admissions",
    debt: "Debt",
    credit: "Credit",
    positions: "Multilateral positions",
    over_periods: "Returns and admissions over the periods",
    chart_legend: "For the pair A → O: dark bars are A's returns to O, light bars A's admissions of people from O, in each final round's period.",
    no_periods: "No final round yet: no settled period to chart.",
    holder: "Holder",
    counterpart: "With",
    members: "Members",
    members_intro: "The member states and their agreements, as the coordinator's signed directory lists them.",
    directory_version: "Directory version",
    issued_at: "Issued at",
    reason_code: "Reason",
    joined: "Joined",
    certificates: "Certificates",
    expires: "Certificate expiry",
    signing_keys: "Signing keys",
    agreements: "Agreements",
    regimes: "Regimes",
    effective_from: "Effective from",
    sunset: "Sunset",
    no_limit: "none",
    residuals: "What remains per state",
    to_admit: "Still to admit",
    to_release: "Still to leave",
};

/// French.
pub const FRENCH: Words = Words {
    not_allowed: "Ces pages sont réservées aux opérateurs du coordinateur et aux diplomates.",
    rounds: "Cycles de règlement",
    rounds_intro: "Tous les cycles de règlement, de la période la plus récente à la plus ancienne.",
    no_rounds: "Aucun cycle pour l'instant.",
    round: "Cycle",
    status: "Statut",
    period: "Période",
    mode: "Compensation",
    settled: "Réglé",
    countersignatures: "Contre-signatures",
    awaiting: "En attente",
    not_proposed: "Aucun rapport n'a encore été proposé pour ce cycle.",
    version: "Version",
    digest: "Empreinte du rapport (SHA-256)",
    tree_size: "Taille du journal à la clôture",
    required: "Admissions requises",
    required_gross: "Requises sans compensation",
    efficiency: "Efficacité de la compensation",
    figures: "Chiffres par État",
    state: "État",
    returned: "Renvoyés",
    received: "Reçus",
    admitted: "Admis",
    released: "Partis",
    debts: "Dettes",
    credits: "Crédits",
    position: "Position",
    carried_in: "Reporté en entrée",
    carry_forward: "Reporté au cycle suivant",
    instructions: "Instructions d'admission",
    admitting: "État d'admission",
    origin: "État d'origine",
    count: "Personnes",
    redirected: "Redirigée",
    perform_by: "À exécuter avant le",
    yes: "oui",
    no: "non",
    flows: "Flux entre États",
    flows_legend: "Chaque flèche est une instruction, de l'État d'origine vers l'État d'admission ; son épaisseur croît avec le nombre de personnes ; les admissions redirigées sont en pointillés, en rouge, et signalées.",
    breaks: "Écarts",
    breaks_intro: "Écarts de rapprochement, par nature et par ancienneté, du plus ancien au plus récent.",
    open_breaks: "Écarts ouverts à la clôture",
    none: "Aucun.",
    kind: "Nature",
    age: "Ancienneté",
    how_many: "Nombre",
    signatures: "Signatures",
    signer: "Signataire",
    key_id: "Identifiant de clé",
    signed_at: "Signé le",
    coordinator: "Coordinateur",
    downloads: "Téléchargements",
    break_id: "Écart",
    case: "Dossier",
    pair: "États",
    detected: "Détecté le",
    reported_by: "Signalé par",
    reason: "Motif (comment les deux États l'ont réglé)",
    resolve: "Lever",
    quotas: "Quotas",
    capacities: "Capacités d'admission",
    capacity: "Capacité",
    parity_limits: "Limites de parité",
    limit: "Limite",
    updated: "Fixée le",
    set_capacity: "Fixer une capacité",
    from: "Du",
    until: "Au (exclu)",
    next_page: "Page suivante",
    verification: "Vérification",
    verified: "vérifiée",
    not_verified: "NON vérifiée",
    verification_legend: "Chaque signature est vérifiée sur les octets canoniques du rapport avec la clé que l'annuaire signé du coordinateur indique pour son signataire, valide à la date du calcul ; celle du coordinateur aussi avec le contenu du rapport (chaque chiffre recalculé, le certificat d'optimalité vérifié).",
    difference: "Différence avec le cycle précédent",
    previous_round: "Cycle final précédent",
    no_previous: "Aucun cycle final antérieur à comparer.",
    previous: "Précédent",
    this_round: "Ce cycle",
    change: "Écart",
    figure: "Chiffre",
    redirected_mark: "redirigée",
    exported: "Exporté du coordinateur d'Accord. Les chiffres et les signatures sont ceux du rapport signé ; les téléchargements sont sur la passerelle du coordinateur.",
    balances: "Soldes",
    balances_intro: "Par couple ordonné d'États : renvois et admissions de chaque période réglée (d'après les rapports signés des cycles finaux), et dettes et crédits à ce jour (d'après la dernière tête du journal).",
    now: "Dettes et crédits à ce jour",
    read_at: "Lu à la taille du journal",
    returns: "Renvois",
    admissions: "Admissions",
    debt: "Dette",
    credit: "Crédit",
    positions: "Positions multilatérales",
    over_periods: "Renvois et admissions par période",
    chart_legend: "Pour le couple A → O : barres foncées, renvois de A vers O ; barres claires, admissions par A de personnes venant de O ; pour la période de chaque cycle final.",
    no_periods: "Aucun cycle final pour l'instant : aucune période réglée à représenter.",
    holder: "Titulaire",
    counterpart: "Auprès de",
    members: "Membres",
    members_intro: "Les États membres et leurs accords, tels que les liste l'annuaire signé du coordinateur.",
    directory_version: "Version de l'annuaire",
    issued_at: "Publié le",
    reason_code: "Motif",
    joined: "Adhésion",
    certificates: "Certificats",
    expires: "Expiration des certificats",
    signing_keys: "Clés de signature",
    agreements: "Accords",
    regimes: "Régimes",
    effective_from: "En vigueur depuis",
    sunset: "Extinction",
    no_limit: "aucune",
    residuals: "Reste par État",
    to_admit: "Reste à admettre",
    to_release: "Reste à partir",
};

/// The words of language `lang` (`en` or `fr`).
pub fn of(lang: &str) -> &'static Words {
    if lang == "fr" { &FRENCH } else { &ENGLISH }
}
