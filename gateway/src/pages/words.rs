//! The coordinator's pages' words in the pilot's two languages: rounds, a round's report,
//! breaks and quotas. Chosen with the rest of a page's words (`super::text::choose`), by the
//! same language code.

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
    flows_legend: "Each arrow is one instruction, from the origin state to the admitting state; its width grows with the number of people; redirected admissions are dashed.",
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
    flows_legend: "Chaque flèche est une instruction, de l'État d'origine vers l'État d'admission ; son épaisseur croît avec le nombre de personnes ; les admissions redirigées sont en pointillés.",
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
};

/// The words of language `lang` (`en` or `fr`).
pub fn of(lang: &str) -> &'static Words {
    if lang == "fr" { &FRENCH } else { &ENGLISH }
}
