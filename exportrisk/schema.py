"""Every canonical table declared once: its columns (type, meaning, allowed values) and primary key.

Validation (pandera), the data dictionary in docs/ and the tests all read these declarations, so they
cannot disagree. Column names follow one grammar: ``*_code`` for codes, ``*_type`` for readable
categories, ``is_*`` for booleans, ``*_date`` for dates, ``*_raw`` for a value exactly as published.
"""

import functools
from collections.abc import Collection
from dataclasses import dataclass, replace

import pandas as pd
import pandera.pandas as pandera
import pyarrow as pa
import pyarrow.compute as pc

from exportrisk import listcols
from exportrisk.errors import InputError

ISO3 = r"^[A-Z]{3}$"


@dataclass(frozen=True)
class Field:
    name: str
    dtype: str  # "string", "Int64", "Float64", "boolean", "date", "category" or "list" (of strings)
    description: str
    required: bool = False  # never null
    categories: tuple[str, ...] = ()
    pattern: str | None = None
    min_value: float | None = None
    ordered: bool = False  # categories listed in rising order (risk bands)

    def pandas_dtype(self) -> object:
        if self.dtype == "category":
            return pd.CategoricalDtype(list(self.categories), ordered=self.ordered)
        if self.dtype == "date":
            return "datetime64[ms]"
        if self.dtype == "string":
            return pd.StringDtype()
        if self.dtype == "list":
            return listcols.LIST_DTYPE
        return self.dtype


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    fields: tuple[Field, ...]
    primary_key: tuple[str, ...]

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]

    def empty(self) -> pd.DataFrame:
        return empty_frame(self).copy()

    def select(self, columns: Collection[str]) -> "Table":
        """The table with only the fields in ``columns`` (declared order): what conform takes for some columns."""
        return replace(self, fields=tuple(f for f in self.fields if f.name in columns))


LINEAGE = (
    Field("source", "string", "Short name of the source in the source registry (e.g. caat-uk).", required=True),
    Field("source_file", "string", "Raw file the row came from, relative to data/raw/.", required=True),
    Field(
        "source_row",
        "Int64",
        "Record number in the raw file, counting the header as row 1 (a spreadsheet's own row number).",
        required=True,
        min_value=1,
    ),
)

OUTCOMES = ("issued", "refused", "revoked")
LICENCE_TYPES = ("individual", "global", "open", "general")
DATE_PRECISIONS = ("day", "month", "year")
DESTINATION_TYPES = ("country", "multiple", "unspecified", "non_country")
GOODS_CATEGORIES = ("military", "dual_use", "unknown")
SURVEILLANCE_TYPES = (
    "intrusion_software",
    "interception",
    "ip_network_surveillance",
    "forensics",
    "cryptography",
    "telecom_unspecified",
)
CONFIDENCE_TYPES = ("official", "reported", "unverified")
REJECT_REASONS = (
    "malformed_row",
    "missing_value",
    "unparseable_date",
    "future_date",
    "unknown_country",
    "unparseable_value",
    "negative_value",
    "unknown_outcome",
    "duplicate_row",
    "not_rated",
    "not_a_country",
    "ambiguous_country",
    "superseded",
    "out_of_range",
    "unknown_category",
    "unknown_entity",
    "inconsistent_values",
    "conflicting_duplicate",
    "names_a_person",
)

LICENCES = Table(
    "licences",
    "One row per licence line: a licence for one destination and one control code. A licence that "
    "names several destinations or codes has several lines with the same licence_id.",
    (
        Field("licence_id", "string", "Source-prefixed licence identifier, e.g. 'caat-uk:1234'.", required=True),
        Field(
            "line_no",
            "Int64",
            "Line within the licence (1, 2, ...), in source order.",
            required=True,
            min_value=1,
        ),
        *LINEAGE,
        Field(
            "licensing_country_code",
            "string",
            "ISO 3166 alpha-3 code of the state that decided the licence.",
            required=True,
            pattern=ISO3,
        ),
        Field("licence_kind", "category", "What was licensed.", required=True, categories=("export", "transit")),
        Field(
            "licence_type",
            "category",
            "Individual (one exporter, consignee and shipment set), global (one exporter, several consignees or "
            "countries), open or general licence, where the source says.",
            categories=LICENCE_TYPES,
        ),
        Field("decision_date", "date", "Date of the decision (issue or refusal) as published.", required=True),
        Field(
            "decision_date_format",
            "string",
            "Day/month order the date was read with (ISO, DMY, MDY, excel_serial): inferred per file and "
            "block of rows where the source mixes them.",
            required=True,
        ),
        Field(
            "decision_date_precision",
            "category",
            "How precise decision_date is: day as published, or month or year where the source gives only that "
            "(the date is then the first day of the month or year, the earliest the decision can be).",
            required=True,
            categories=DATE_PRECISIONS,
        ),
        Field("expiry_date", "date", "Date the licence expires, where published."),
        Field("outcome", "category", "Decision taken on the application.", required=True, categories=OUTCOMES),
        Field("destination_raw", "string", "Destination exactly as published.", required=True),
        Field(
            "destination_type",
            "category",
            "Whether the destination is one country, several, unspecified or not a country (Antarctica, a "
            "continental shelf): never silently dropped or guessed.",
            required=True,
            categories=DESTINATION_TYPES,
        ),
        Field(
            "destination_country_code",
            "string",
            "ISO 3166 alpha-3 code of the (final) destination; null unless destination_type is 'country'.",
            pattern=ISO3,
        ),
        Field(
            "transit_country_code",
            "string",
            "ISO3 code of an intermediate or transit country the record names ('X via Y': Y).",
            pattern=ISO3,
        ),
        Field(
            "onward_country_codes",
            "list",
            "ISO3 codes of onward destinations for goods incorporated abroad (UK data).",
        ),
        Field("control_code_raw", "string", "Control-list entry exactly as published."),
        Field(
            "control_code",
            "string",
            "Control-list entry normalised to dotted form: '5A001f2' -> '5A001.f.2', 'ML5b' -> 'ML5.b'.",
        ),
        Field(
            "goods_category",
            "category",
            "Military or dual-use, from the control code (see docs/taxonomy.md).",
            required=True,
            categories=GOODS_CATEGORIES,
        ),
        Field(
            "surveillance_type",
            "category",
            "Cyber-surveillance sub-category of the control code, null for other goods.",
            categories=SURVEILLANCE_TYPES,
        ),
        Field("taxonomy_rule", "string", "The taxonomy rule that classified the control code."),
        Field("goods_description", "string", "Description of the goods as published."),
        Field("end_use_description", "string", "Stated end use, where published."),
        Field(
            "item_count",
            "Int64",
            "Number of items or licences the row aggregates, where published.",
            min_value=0,
        ),
        Field("value", "Float64", "Licensed value in currency_code, where published.", min_value=0),
        Field(
            "is_value_lower_bound",
            "boolean",
            "True where the published value is a lower bound ('over EUR 200,000'): the licence is worth more than "
            "value, and a total that includes it is a lower bound too. Null where the source says nothing of it.",
        ),
        Field(
            "value_shared_by",
            "Int64",
            "How many lines repeat this raw row's value (a licence value published once for several destinations "
            "or codes): sum value / value_shared_by to total values without double counting.",
            required=True,
            min_value=1,
        ),
        Field("currency_code", "string", "ISO 4217 currency of value.", pattern=r"^[A-Z]{3}$"),
        Field("exporter_name", "string", "Exporter as published (without surrounding spaces), where named."),
        Field(
            "exporter_business_id",
            "string",
            "The exporter's business or company registration number as published (e.g. a Finnish Y-tunnus).",
        ),
        Field("end_user_name", "string", "End-user as published, where the source names it."),
        Field("end_user_type", "string", "Kind of end-user, where published (e.g. police, intelligence)."),
        Field(
            "refusal_criteria",
            "list",
            "Criteria numbers given for a refusal (EU Common Position; 2 = internal repression).",
        ),
        Field(
            "confidence",
            "category",
            "official (government data), reported (credible reporting) or unverified (secondary only).",
            required=True,
            categories=CONFIDENCE_TYPES,
        ),
        Field("source_url", "string", "Where the record is published (required for curated rows)."),
        Field("source_citation", "string", "How to cite the source (the source registry's or the mapping's)."),
        Field("source_terms", "string", "The source's licence or terms of use."),
    ),
    ("licence_id", "line_no"),
)


def aggregate_field(f: Field) -> Field:
    """A licence column as it reads in the aggregates table."""
    if f.name == "licence_id":
        return Field(
            "aggregate_id",
            "string",
            "Source-prefixed id of the published row: '<source>:<sheet>:<row>'.",
            required=True,
        )
    if f.name == "decision_date":
        return Field(f.name, "date", "First day of the period the row totals (its precision alongside).", required=True)
    if f.name == "item_count":
        return Field(f.name, "Int64", "Number of licences the row counts, where published.", min_value=0)
    return f


AGGREGATES = Table(
    "aggregates",
    "Totals a source publishes instead of licences (licences or values per year, destination and category): "
    "kept apart from licences so that no count, score or report takes them for licences. Same columns as "
    "licences, plus granularity.",
    (
        *(aggregate_field(f) for f in LICENCES.fields),
        Field("granularity", "string", "What one row totals, as the source's mapping declares it.", required=True),
    ),
    ("aggregate_id", "line_no"),
)

REJECTS = Table(
    "rejects",
    "Raw rows that did not become canonical rows, each with a reason. Together with the canonical tables "
    "the (source_file, source_row) pairs reconcile exactly with the raw files.",
    (
        *LINEAGE,
        Field(
            "source_column",
            "string",
            "For wide raw layouts that hold several records in one row (one per edition, say): the raw "
            "column(s) of the record. Null where a raw row is one record.",
        ),
        Field("table", "string", "Canonical table the row was meant for.", required=True),
        Field("reason_code", "category", "Why the row was rejected.", required=True, categories=REJECT_REASONS),
        Field("column_name", "string", "Raw column that caused the rejection."),
        Field("message", "string", "Readable explanation, naming the offending value.", required=True),
        Field("raw_values", "string", "The raw row as JSON, so nothing is lost.", required=True),
    ),
    ("table", "source_file", "source_row", "source_column"),
)

PUBLISHED_DATE_BASES = ("release_date", "conservative_lag")
INDICATORS = Table(
    "indicators",
    "Country indicators in long format: one row per country, indicator, year covered and edition, each "
    "with the date it became public, so that a score only uses what was known at its decision date "
    "(exportrisk.knowledge.indicators.indicators_as_of). Sources and how their files are read are declared in "
    "exportrisk/metadata/indicators/<source>.yaml.",
    (
        Field(
            "country_code",
            "string",
            "ISO 3166 alpha-3 code (historic codes for former states).",
            required=True,
            pattern=ISO3,
        ),
        Field("indicator_code", "string", "Indicator, e.g. pts_a (PTS from Amnesty reports), fh_total.", required=True),
        Field(
            "year",
            "Int64",
            "Year the value covers; where a review period is not a calendar year (Freedom House 1982-1989 "
            "editions) the year it ends in, with the period in period_raw.",
            required=True,
        ),
        Field(
            "edition",
            "string",
            "Edition the value is read from, as the source names it ('2024', 'Jan.-Feb. 1973', '1983-84').",
            required=True,
        ),
        Field(
            "value",
            "Float64",
            "The value; labels such as F/PF/NF as numbers (see the indicator mapping).",
            required=True,
        ),
        Field("value_raw", "string", "The value exactly as published, e.g. '2(5)' or 'NF'.", required=True),
        Field("scale_min", "Float64", "Lowest value the indicator can take.", required=True),
        Field("scale_max", "Float64", "Highest value the indicator can take.", required=True),
        Field(
            "is_higher_worse", "boolean", "Whether a higher value means worse human-rights conditions.", required=True
        ),
        Field(
            "published_date",
            "date",
            "First day the value is taken to be public: its edition's release date, or a conservative lag "
            "after the year covered (published_date_basis).",
            required=True,
        ),
        Field(
            "published_date_basis",
            "category",
            "release_date: from exportrisk/metadata/indicators/releases.csv; conservative_lag: the source's "
            "documented lag rule, no earlier than the value can have been public.",
            required=True,
            categories=PUBLISHED_DATE_BASES,
        ),
        Field("period_raw", "string", "Review period as published where it is not a calendar year."),
        Field("country_raw", "string", "Country or territory name exactly as published.", required=True),
        *LINEAGE,
        Field(
            "source_column",
            "string",
            "Raw column of the value: its header, or for wide spreadsheet layouts the column letter.",
            required=True,
        ),
    ),
    ("country_code", "indicator_code", "year", "edition"),
)

EVIDENCE_KINDS = (
    "targeting_incident",
    "published_finding",
    "legal_complaint",
    "vendor_customer_report",
    "entity_listing",
    "export_hub_finding",
)
EVIDENCE_STRENGTHS = ("forensically_confirmed", "official_finding", "credible_report", "customer_relation_only")
COUNTRY_ROLES = ("operator", "operator_unknown", "customer", "export_hub", "no_country")
VICTIM_ROLE_TYPES = (
    "journalist",
    "human_rights_defender",
    "lawyer",
    "politician",
    "academic",
    "clergy",
    "staff_or_associate",
    "family_member",
    "royal_family",
    "criminal_suspect",
    "other",
    "unknown",
)
ATTACK_RESULTS = ("attempted", "successful")
ENTITY_TYPES = ("company", "investor")
RELATION_KINDS = ("parent_of", "owner_of", "merged_with", "sales_arm_of", "renamed_to", "affiliate_of")
DATE_PRECISIONS = ("day", "month", "year")
ENTITY_ID = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SOURCE_URLS = Field("source_urls", "list", "Source URL(s).", required=True)
CURATED_CONFIDENCE = Field(
    "confidence",
    "category",
    "official (an official act or record), reported (credible reporting) or unverified (secondary only).",
    categories=CONFIDENCE_TYPES,
)


def partial_date(name: str, what: str) -> tuple[Field, Field]:
    """A date known to a day, month or year (``what``, e.g. 'the start of the relation'): first day and precision."""
    return (
        Field(name, "date", f"{what.capitalize()}: the first day of the period reported (see {name}_precision)."),
        Field(f"{name}_precision", "category", f"How precisely {what} is reported.", categories=DATE_PRECISIONS),
    )


PUBLISHED = partial_date(
    "published_date", "the date its sources made it public (a partial date is known after its period)"
)


EVIDENCE = Table(
    "evidence",
    "Dated public evidence of surveillance abuse and of the vendors behind it: one line per piece of "
    "evidence and country it names (or per vendor, for listings that name no country). Point-in-time use "
    "takes only lines published strictly before the decision day (exportrisk.knowledge.evidence.evidence_as_of).",
    (
        Field(
            "evidence_id",
            "string",
            "Source-prefixed id of one piece of evidence: 'curated:<finding>' for a curated finding, "
            "'pegasus-victims:<victim_id>' for a victim entry.",
            required=True,
        ),
        Field("line_no", "Int64", "Line within the evidence (1, 2, ...), in source order.", required=True, min_value=1),
        *LINEAGE,
        Field(
            "kind",
            "category",
            "targeting_incident (one victim), published_finding (naming operator states), legal_complaint, "
            "vendor_customer_report (a vendor's customers: not abuse by itself), entity_listing (a sanction "
            "or listing of the vendor), export_hub_finding (a state found to be a hub for exports).",
            required=True,
            categories=EVIDENCE_KINDS,
        ),
        Field("published_date", "date", "Day the evidence became public (see published_date_raw).", required=True),
        Field(
            "published_date_raw",
            "string",
            "Publication date(s) as given. Several ';'-separated dates pair with the countries in order when "
            "there are as many; otherwise a single country takes the earliest, several the latest: never a "
            "date before the line's evidence was public.",
            required=True,
        ),
        Field(
            "country_role",
            "category",
            "The state's part: operator (believed to have used the tool), operator_unknown (explicit marker: "
            "the operator is not known), customer (a vendor's client), export_hub (a state the vendor exports "
            "from), no_country (a listing of the vendor that names no state).",
            required=True,
            categories=COUNTRY_ROLES,
        ),
        Field(
            "country_code",
            "string",
            "ISO 3166 alpha-3 code of the state; null exactly when country_role is operator_unknown or no_country.",
            pattern=ISO3,
        ),
        Field("country_raw", "string", "Country as published (free text in victim databases)."),
        Field("vendor_name", "string", "Vendor as published or curated."),
        Field(
            "vendor_entity_id",
            "string",
            "The vendor in entities.parquet, matched by name or alias (exportrisk.reference.entities); else null.",
        ),
        Field("product", "string", "Product, where known (e.g. Pegasus)."),
        Field(
            "strength",
            "category",
            "forensically_confirmed (forensic analysis of devices or infrastructure), official_finding (by a "
            "government or parliamentary body), credible_report (credible reporting or investigation, no "
            "published forensics), customer_relation_only (a customer of the vendor, no abuse shown).",
            required=True,
            categories=EVIDENCE_STRENGTHS,
        ),
        Field(
            "victim_id",
            "string",
            "Pseudonymous id of the victim: HMAC-SHA256 of the name with a configured salt "
            "(exportrisk.reference.pseudonyms). Never the name.",
            pattern=r"^v-[0-9a-f]{16}$",
        ),
        Field(
            "victim_role_type",
            "category",
            "Victim's role at the time, through exportrisk/metadata/victim_roles.csv; unknown where a victim's "
            "role is not given, null where the evidence has no single victim.",
            categories=VICTIM_ROLE_TYPES,
        ),
        Field(
            "attack_result_type",
            "category",
            "For targeting incidents: attempted, or successful (an infection at least once).",
            categories=ATTACK_RESULTS,
        ),
        Field("publisher", "string", "Who made the evidence public (e.g. Citizen Lab)."),
        Field("title", "string", "Title of the publication (curated findings)."),
        Field("note", "string", "Curator's note: scope, caveats, how the facts were read."),
        CURATED_CONFIDENCE,
        Field(
            "source_urls",
            "list",
            "Source URL(s). Victim entries leave out URLs whose address names a victim.",
            required=True,
        ),
    ),
    ("evidence_id", "line_no"),
)

ENTITIES = Table(
    "entities",
    "Companies and investors of the curated vendor network, with the aliases they are matched by "
    "(exportrisk.reference.entities.match_entity).",
    (
        Field("entity_id", "string", "Curated id, lower-case words joined by '-'.", required=True, pattern=ENTITY_ID),
        *LINEAGE,
        Field("name", "string", "Name, with its legal form where reported.", required=True),
        Field("aliases", "list", "Other names the entity is reported under."),
        Field("entity_type", "category", "company or investor.", required=True, categories=ENTITY_TYPES),
        Field("country_code", "string", "ISO 3166 alpha-3 code of the country of registration.", pattern=ISO3),
        *partial_date("founded_date", "the date founded or registered"),
        Field("description", "string", "What the sources report about the entity."),
        *PUBLISHED,
        CURATED_CONFIDENCE,
        SOURCE_URLS,
    ),
    ("entity_id",),
)

RELATIONS = Table(
    "relations",
    "Relations between entities, read 'subject <relation_kind> object' (Q Cyber parent_of NSO), with the "
    "period they held where reported.",
    (
        Field("subject_entity_id", "string", "Entity the relation starts from.", required=True, pattern=ENTITY_ID),
        Field(
            "relation_kind",
            "category",
            "parent_of, owner_of (owner or controlling investor), merged_with, sales_arm_of, renamed_to (the "
            "subject is the former name), affiliate_of (named as linked, nature not reported).",
            required=True,
            categories=RELATION_KINDS,
        ),
        Field("object_entity_id", "string", "Entity the relation points to.", required=True, pattern=ENTITY_ID),
        *LINEAGE,
        *partial_date("start_date", "the start of the relation"),
        *partial_date("end_date", "the end of the relation"),
        Field("note", "string", "What the sources report, e.g. the share held."),
        *PUBLISHED,
        CURATED_CONFIDENCE,
        SOURCE_URLS,
    ),
    ("subject_entity_id", "relation_kind", "object_entity_id"),
)

BANDS = ("Low", "Moderate", "High", "Very high", "Critical")
INDETERMINATE = "indeterminate (data gap)"


def score_fields(level: str) -> tuple[Field, ...]:
    """The columns a score has at either level (``level``: 'line' or 'licence'): its band, components, bounds."""
    of = "the line" if level == "line" else "the licence's highest line"
    highest = "" if level == "line" else ": the highest over the licence's lines"
    return (
        Field(
            "band",
            "category",
            f"Band of the score, or '{INDETERMINATE}' where the data gaps of the line (a missing D measure or E, "
            "unclassified goods) could put it in different bands (it sorts below Low: it claims no band).",
            required=True,
            categories=(INDETERMINATE, *BANDS),
            ordered=True,
        ),
        Field("score_band", "category", "Band of the score itself.", required=True, categories=BANDS, ordered=True),
        Field(
            "as_of_date",
            "date",
            "Date scored: the decision date. Only evidence and indicator editions published strictly before "
            "it are used.",
            required=True,
        ),
        Field("destination_country_code", "string", f"Destination of {of} (null if not one country).", pattern=ISO3),
        Field("control_code", "string", f"Control code of {of}."),
        Field(
            "d_score",
            "Float64",
            f"D, destination record (0-100) of {of}; null without indicators, 0 where not a country.",
            min_value=0,
        ),
        Field(
            "e_score",
            "Float64",
            f"E, documented abuse (0-100) of {of}; null without one country, 0 where not a country.",
            min_value=0,
        ),
        Field("u_score", "Float64", f"U, end-user (0-100) of {of}; null where the end-user is unknown.", min_value=0),
        Field("i_score", "Float64", f"I, nature of the goods (tier 0-100) of {of}.", required=True, min_value=0),
        Field("x_score", "Float64", f"X, transaction and exporter points of {of}.", required=True, min_value=0),
        Field(
            "p_score",
            "Float64",
            f"P, precedent points of {of}: the licensing state's refusals for the destination public before the "
            "decision.",
            required=True,
            min_value=0,
        ),
        Field("precedent_ids", "list", f"licence_ids of the refusals P counts for {of}."),
        Field("why", "string", f"One sentence on the largest contributors to the score of {of}.", required=True),
        Field(
            "coverage",
            "Float64",
            f"Share of the inputs present for {of}: each D measure, E (a country), U (a known end-user type), "
            "I (classified goods).",
            required=True,
            min_value=0,
        ),
        Field(
            "score_best",
            "Float64",
            f"Score with the missing and uncertain inputs (an unknown end-user, a measure's standard deviation) at "
            f"their best (lowest-risk) values{highest}.",
            required=True,
            min_value=0,
        ),
        Field(
            "score_worst",
            "Float64",
            f"Score with the missing and uncertain inputs at their worst values{highest}.",
            required=True,
            min_value=0,
        ),
        Field("floors", "list", f"Floors that lifted the score of {of} (null if none)."),
        Field("flags", "list", f"Red flags and data notes of {of} (null if none)."),
        Field("evidence_ids", "list", f"Ids of the evidence {of} used (E and the exporter network)."),
        Field(
            "hindsight_score",
            "Float64",
            "HINDSIGHT, not ex ante: the score with all evidence, including evidence published after the decision.",
            required=True,
            min_value=0,
        ),
        Field("hindsight_band", "category", "Band of hindsight_score.", required=True, categories=BANDS, ordered=True),
        Field(
            "reassessment_date",
            "date",
            "Issued licences: first date after the decision on which the ex-ante score reached the reassessment "
            "band (High by default) while in force; null if never or if it was there at the decision.",
        ),
        Field("method_version", "string", "method_version of the scoring configuration used.", required=True),
    )


SCORE_LINES = Table(
    "score_lines",
    "Risk score of every licence line (one destination and one control code), with its components, "
    "floors, flags and evidence (exportrisk.scoring.score; the method: docs/methodology.md).",
    (
        Field("licence_id", "string", "Licence, as in licences.", required=True),
        Field("line_no", "Int64", "Line, as in licences.", required=True, min_value=1),
        Field("score", "Float64", "Ex-ante risk score 0-100 (two decimals).", required=True, min_value=0),
        *score_fields("line"),
        Field("context_score", "Float64", "Weighted mean of D, E and U present.", required=True, min_value=0),
        Field("goods_factor", "Float64", "Share of the context risk the goods keep.", required=True, min_value=0),
        Field(
            "goods_rule",
            "string",
            "What set I: 'code ML1', 'surveillance_type interception', 'goods_category dual_use', "
            "'keyword <label>' or 'unclassified <goods_category>'.",
            required=True,
        ),
        Field("d_inputs", "list", "Indicator values D used, each 'indicator year=value'; '*' marks a stale one."),
        Field("network_path", "string", "Path linking the exporter to documented misuse (exporter network)."),
    ),
    ("licence_id", "line_no"),
)

SCORES = Table(
    "scores",
    "Risk score of every licence: its highest line (score_lines), so that a licence with several "
    "destinations or codes is as risky as its riskiest part.",
    (
        Field("licence_id", "string", "Licence, as in licences.", required=True),
        Field("score", "Float64", "Ex-ante risk score 0-100: the highest line's.", required=True, min_value=0),
        *score_fields("licence"),
        Field("top_line_no", "Int64", "The line that gives the score (ties: the first).", required=True, min_value=1),
        Field("n_lines", "Int64", "Number of lines of the licence.", required=True, min_value=1),
        Field("licensing_country_code", "string", "As in licences.", required=True, pattern=ISO3),
        Field("outcome", "category", "As in licences.", required=True, categories=OUTCOMES),
    ),
    ("licence_id",),
)

SENSITIVITY = Table(
    "sensitivity",
    "How far each licence's band depends on the scoring weights: its score recombined under seeded "
    "perturbations of every weight (exportrisk.scoring.sensitivity; the method: docs/methodology.md).",
    (
        Field("licence_id", "string", "Licence, as in scores.", required=True),
        Field("score", "Float64", "Ex-ante score with the configuration's weights.", required=True, min_value=0),
        Field("score_band", "category", "Band of score.", required=True, categories=BANDS, ordered=True),
        Field(
            "band_kept_share",
            "Float64",
            "Share of the draws in which the licence's score stays in score_band (1: its band does not depend "
            "on the weights).",
            required=True,
            min_value=0,
        ),
        Field("score_min", "Float64", "Lowest score over the draws.", required=True, min_value=0),
        Field("score_max", "Float64", "Highest score over the draws.", required=True, min_value=0),
        Field("lowest_band", "category", "Band of score_min.", required=True, categories=BANDS, ordered=True),
        Field("highest_band", "category", "Band of score_max.", required=True, categories=BANDS, ordered=True),
    ),
    ("licence_id",),
)

SENSITIVITY_SUMMARY = Table(
    "sensitivity_summary",
    "Headline figures of the weight sensitivity analysis (data/processed/sensitivity_summary.csv): the "
    "parameters, the share of licences whose band depends on the weights, and the Kendall tau-b between the "
    "destination-country ranking with the configuration's weights and with each draw's.",
    (
        Field(
            "statistic",
            "string",
            "draws, seed, spread; licences, share_band_depends_on_weights (band_kept_share below 1), "
            "share_band_kept_in_under_half, mean_band_kept_share (per scope); "
            "countries_ranked, kendall_tau_median, kendall_tau_p05, kendall_tau_min.",
            required=True,
        ),
        Field("scope", "string", "'all', or the baseline band the licence figures are restricted to.", required=True),
        Field("value", "Float64", "The figure (null where a band has no licences)."),
    ),
    ("statistic", "scope"),
)

CHECKS = Table(
    "checks",
    "Checks of the ex-ante score against the world (exportrisk.scoring.backtests, data/processed/checks.csv; the "
    "figures and their reading: docs/methodology.md).",
    (
        Field(
            "check",
            "string",
            "criterion2_auc (UK refusals under Criterion 2 against issued UK licences), criterion2_share_by_band, "
            "band_lines and score_spread (lines per band, the highest score, distinct top UK scores), "
            "named_operator_high (surveillance lines to states named as spyware operators, before and after the "
            "naming) or "
            "interception_not_free_value (UK telecommunications interception licences to Freedom House Not "
            "Free destinations).",
            required=True,
        ),
        Field("scope", "string", "Goods category, destination country or decision year, or 'all'.", required=True),
        Field("statistic", "string", "What value measures, e.g. auc, share_high_after, value_gbp.", required=True),
        Field("value", "Float64", "The figure (null where it cannot be measured, e.g. an AUC without refusals)."),
    ),
    ("check", "scope", "statistic"),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        LICENCES,
        REJECTS,
        AGGREGATES,
        INDICATORS,
        EVIDENCE,
        ENTITIES,
        RELATIONS,
        SCORES,
        SCORE_LINES,
        SENSITIVITY,
        SENSITIVITY_SUMMARY,
        CHECKS,
    )
}


def conform(df: pd.DataFrame, table: Table) -> pd.DataFrame:
    """Return the table's columns in declared order and types (missing optional columns become null)."""
    out = {}
    for f in table.fields:
        col = df[f.name] if f.name in df else pd.Series(pd.NA, index=df.index)
        if f.dtype == "date":
            col = pd.to_datetime(col).astype("datetime64[ms]")
        if f.dtype == "list":
            typed = listcols.as_lists(col)
        elif f.dtype == "category":
            typed = to_category(col, f.pandas_dtype())
            if (lost := col[typed.isna() & col.notna()]).size:
                raise ValueError(f"{table.name}.{f.name}: {lost.iloc[0]!r} is not one of {', '.join(f.categories)}")
        else:
            typed = col.astype(f.pandas_dtype())
        out[f.name] = typed
    return pd.DataFrame(out, index=df.index, copy=False).reset_index(drop=True)  # columns shared (copy on write)


def conform_staged(df: pd.DataFrame, table: Table, sep: str = ";") -> pd.DataFrame:
    """conform rows as a source stages them, whose list columns may still hold text as published
    (``sep``-separated, hashable while rows are checked for duplicates): split here, at the end of cleaning."""
    text = [f.name for f in table.fields if f.dtype == "list" and f.name in df and not listcols.is_list(df[f.name])]
    return conform(df.assign(**{name: listcols.split(df[name], sep) for name in text}), table)


def to_category(col: pd.Series, dtype: pd.CategoricalDtype) -> pd.Series:
    """Text to a declared categorical through Arrow's dictionary encoding (5x faster than astype)."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return col.cat.set_categories(dtype.categories, ordered=dtype.ordered)
    text = pa.array(col, from_pandas=True, type=pa.string())
    encoded = pc.dictionary_encode(text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text)
    codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
    found = pd.Categorical.from_codes(codes, categories=pd.Index(encoded.dictionary.to_pylist(), dtype=object))
    return pd.Series(found.set_categories(dtype.categories, ordered=dtype.ordered), index=col.index)


@functools.cache
def empty_frame(table: Table) -> pd.DataFrame:
    """The table with no rows, built once per table (callers get a copy): every clean builds several."""
    return conform(pd.DataFrame({c: [] for c in table.columns}), table)


@functools.cache
def pandera_schema(table: Table) -> pandera.DataFrameSchema:
    """The table's pandera schema, built once per table: validation runs many times a run."""
    columns = {}
    for f in table.fields:
        checks = []
        if f.pattern:
            checks.append(pandera.Check.str_matches(f.pattern))
        if f.min_value is not None:
            checks.append(pandera.Check.ge(f.min_value))
        columns[f.name] = pandera.Column(f.pandas_dtype(), checks=checks, nullable=not f.required)
    return pandera.DataFrameSchema(columns, strict=True, ordered=True, unique=list(table.primary_key))


def validate(df: pd.DataFrame, table: Table) -> pd.DataFrame:
    """Validate a canonical table; a failure is an error in exportrisk, reported in one line."""
    try:
        return pandera_schema(table).validate(df, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        first = cases.iloc[0]
        raise InputError(
            f"data/processed/{table.name}.parquet",
            f"{len(cases)} value(s) break the schema, first: {first['check']} ({first['failure_case']!r})",
            column=str(first["column"]),
        ) from None


def data_dictionary() -> str:
    """Markdown data dictionary of every canonical table (docs/data-dictionary.md is generated from it)."""
    lines = [
        "# Data dictionary",
        "",
        "Generated from `exportrisk/schema.py` by `exportrisk docs`; do not edit.",
        "",
    ]
    for t in TABLES.values():
        lines += [f"## `{t.name}`", "", t.description, "", f"Primary key: {', '.join(t.primary_key)}.", ""]
        lines += ["| column | type | required | meaning |", "|---|---|---|---|"]
        for f in t.fields:
            order = ", in rising order" if f.ordered else ""
            meaning = f.description + (f" One of{order}: {', '.join(f.categories)}." if f.categories else "")
            kind = "list of string" if f.dtype == "list" else f.dtype
            lines.append(f"| `{f.name}` | {kind} | {'yes' if f.required else ''} | {meaning} |")
        lines.append("")
    return "\n".join(lines)
