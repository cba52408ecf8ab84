"""The vocabularies of the synthetic corpus: names, places, organisations, sentence templates.

Plain data for `workers.tools.corpus`; edit here to change what generated articles talk about.
"""

from __future__ import annotations

# fmt: off
FIRST_NAMES = (
    "Hakan", "Amina", "Maria", "Kenji", "Olumide", "Priya", "Sofia", "Mateo", "Ingrid",
    "Tariq", "Elena", "Chen", "Fatima", "Lars", "Isabel", "Dmitri", "Aisha", "Rafael",
    "Yuki", "Kwame", "Leila", "Tomasz", "Camila", "Anders", "Nadia", "Omar", "Grace",
    "Javier", "Mei", "Samuel", "Zeynep", "Lucas", "Ananya", "Pierre", "Nkechi", "Hiroshi",
    "Ewa", "Diego", "Salma", "Jonas", "Farah", "Andrei", "Beatriz", "Arjun", "Chiara",
    "Kofi", "Ingeborg", "Rashid", "Valentina", "Minh", "Thabo", "Selin", "Emeka", "Julia",
    "Sergio", "Hana", "Mohammed", "Claire", "Viktor", "Lucia", "Ravi", "Marta", "Yusuf",
    "Akosua", "Henrik", "Paulo", "Noura", "Kaito", "Bianca", "Mustafa", "Rosa", "Daniel",
)
SURNAMES = (
    "Okafor", "Yilmaz", "Fernandez", "Nakamura", "Schmidt", "Kowalski", "Haddad", "Mensah",
    "Sharma", "Rossi", "Petrov", "Lindqvist", "Moreau", "Castillo", "Tanaka", "Abdullah",
    "Novak", "Osei", "Ivanova", "Silva", "Kaya", "Mwangi", "Dubois", "Herrera", "Wang",
    "Bakr", "Johansson", "Adeyemi", "Morales", "Kim", "Demir", "Kariuki", "Bianchi", "Singh",
    "Nowak", "Mahmoud", "Sato", "Alvarez", "Hansen", "Nguyen", "Okonkwo", "Costa", "Rahman",
    "Vasquez", "Eriksen", "Ozturk", "Achebe", "Lopes", "Kuznetsov", "Suzuki", "Boateng",
    "Ferreira", "Aziz", "Weber", "Ortega", "Chowdhury", "Lehmann", "Santos", "Park", "Koroma",
    "Varga", "Estrada", "Jansen", "Popescu", "Quispe", "Mbeki", "Horvat", "Salazar", "Ito",
)
#: (city as written, dateline spelling, country)
CITIES = (
    ("Ankara", "ANKARA", "Türkiye"), ("Istanbul", "ISTANBUL", "Türkiye"),
    ("Nairobi", "NAIROBI", "Kenya"), ("Lima", "LIMA", "Peru"), ("Berlin", "BERLIN", "Germany"),
    ("Tokyo", "TOKYO", "Japan"), ("Lagos", "LAGOS", "Nigeria"), ("Warsaw", "WARSAW", "Poland"),
    ("Cairo", "CAIRO", "Egypt"), ("Madrid", "MADRID", "Spain"), ("Jakarta", "JAKARTA", "Indonesia"),
    ("Brussels", "BRUSSELS", "Belgium"), ("Mexico City", "MEXICO CITY", "Mexico"),
    ("Seoul", "SEOUL", "South Korea"), ("Accra", "ACCRA", "Ghana"), ("Oslo", "OSLO", "Norway"),
    ("Buenos Aires", "BUENOS AIRES", "Argentina"), ("Hanoi", "HANOI", "Vietnam"),
    ("Johannesburg", "JOHANNESBURG", "South Africa"), ("Rome", "ROME", "Italy"),
    ("New Delhi", "NEW DELHI", "India"), ("Paris", "PARIS", "France"),
    ("Washington", "WASHINGTON", "the United States"), ("London", "LONDON", "Britain"),
    ("Ottawa", "OTTAWA", "Canada"), ("Canberra", "CANBERRA", "Australia"),
    ("Brasilia", "BRASILIA", "Brazil"), ("Bogota", "BOGOTA", "Colombia"),
    ("Santiago", "SANTIAGO", "Chile"), ("Stockholm", "STOCKHOLM", "Sweden"),
    ("Vienna", "VIENNA", "Austria"), ("Geneva", "GENEVA", "Switzerland"),
    ("Doha", "DOHA", "Qatar"), ("Riyadh", "RIYADH", "Saudi Arabia"),
    ("Amman", "AMMAN", "Jordan"), ("Baghdad", "BAGHDAD", "Iraq"), ("Kyiv", "KYIV", "Ukraine"),
    ("Bucharest", "BUCHAREST", "Romania"), ("Athens", "ATHENS", "Greece"),
    ("Lisbon", "LISBON", "Portugal"), ("Dhaka", "DHAKA", "Bangladesh"),
    ("Manila", "MANILA", "the Philippines"), ("Bangkok", "BANGKOK", "Thailand"),
    ("Addis Ababa", "ADDIS ABABA", "Ethiopia"), ("Dakar", "DAKAR", "Senegal"),
    ("Kampala", "KAMPALA", "Uganda"), ("Tunis", "TUNIS", "Tunisia"),
    ("Rabat", "RABAT", "Morocco"), ("Helsinki", "HELSINKI", "Finland"),
    ("Prague", "PRAGUE", "the Czech Republic"), ("Budapest", "BUDAPEST", "Hungary"),
    ("Zagreb", "ZAGREB", "Croatia"), ("Quito", "QUITO", "Ecuador"),
    ("Montevideo", "MONTEVIDEO", "Uruguay"), ("Karachi", "KARACHI", "Pakistan"),
    ("Islamabad", "ISLAMABAD", "Pakistan"), ("Singapore", "SINGAPORE", "Singapore"),
    ("Kuala Lumpur", "KUALA LUMPUR", "Malaysia"), ("Wellington", "WELLINGTON", "New Zealand"),
    ("Dublin", "DUBLIN", "Ireland"), ("Copenhagen", "COPENHAGEN", "Denmark"),
)
ORGANISATIONS = (
    "the United Nations", "the World Bank", "the International Monetary Fund",
    "the European Commission", "NATO", "the African Union", "the World Health Organization",
    "the International Committee of the Red Cross", "Amnesty International",
    "the World Food Programme", "the Organization of American States", "OPEC",
    "the International Energy Agency", "the World Trade Organization", "UNICEF",
    "the Asian Development Bank", "the European Central Bank", "Human Rights Watch",
    "the International Atomic Energy Agency", "Doctors Without Borders",
)
COMPANIES = (
    "Siemens", "Toyota Motor", "Petrobras", "Maersk", "Samsung Electronics", "Nestle",
    "Safaricom", "Turkish Airlines", "Equinor", "Tata Steel", "Vale", "Glencore", "Airbus",
    "BHP", "Aramco", "Ericsson", "Dangote Cement", "Shell", "Volkswagen", "Hyundai Motor",
)
#: organisation name patterns, for an open-ended supply of distinct names
ORG_PATTERNS = (
    "{surname} Holdings", "the {city} Port Authority", "the National Bank of {country}",
    "{surname} & {surname2} Capital", "the {city} Chamber of Commerce",
    "the {country_bare} Institute for Strategic Studies", "{surname} Energy", "{city} University",
    "the {country_bare} Farmers Union", "{surname} Logistics",
)
ROLES = (
    "Foreign Minister", "Finance Minister", "Prime Minister", "President", "Energy Minister",
    "Trade Minister", "Health Minister", "Defence Minister", "Interior Minister",
    "central bank governor", "opposition leader", "Agriculture Minister",
)
PLAIN_ROLES = (
    "a spokesperson for {org}", "a senior economist at {org}", "the chief executive of {co}",
    "a director at {org}", "an analyst at {org2}", "the mayor of {city2}", "a union leader",
    "a researcher at {org2}",
)
TOPICS = (
    "energy cooperation", "the grain export corridor", "trade tariffs", "a ceasefire plan",
    "debt relief", "migration policy", "climate finance", "port investment",
    "regional security", "vaccine supply", "the fishing agreement", "power grid links",
    "water sharing on the river", "visa-free travel", "the new rail line", "drought relief",
    "the refinery project", "digital taxation", "mining royalties", "border reopening",
)
AGENCIES = ("Reuters", "AP", "AFP", "Anadolu", "Xinhua", "dpa")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)

TITLES = (
    "{R1} {P1s} to visit {CITY} for talks on {TOPIC}",
    "{C1} and {C2} agree to step up {TOPIC}",
    "{ORG_CAP} warns of delays to {TOPIC} in {CTRY}",
    "{CO} shares jump after {CITY} deal",
    "{P1} named {R1} as {C1} reshuffles cabinet",
    "Talks on {TOPIC} stall in {CITY}",
    "{CTRY} seeks {MONEY} for {TOPIC}",
    "Protests in {CITY} over {TOPIC} enter {ORD} day",
    "{P1s} and {P2s} meet in {CITY} amid tension over {TOPIC}",
    "{ORG_CAP} backs {C1} plan on {TOPIC}",
    "{CO} to invest {MONEY} in {CTRY}",
    "{C1} opposition calls for inquiry into {TOPIC}",
)
LEADS = (
    "{C1_CAP}'s {R1} {P1} will travel to {CITY} on {DAY} for talks with {P2}, the {R2} of "
    "{C2}, on {TOPIC}, officials said.",
    "{R1} {P1} of {C1} met {P2}, {C2}'s {R2}, in {CITY} on {DAY}, the first such meeting "
    "since {YEAR}, as both sides sought progress on {TOPIC}.",
    "{ORG_CAP} said on {DAY} it would commit {MONEY} to {TOPIC} in {CTRY}, a move welcomed by "
    "{R1} {P1}.",
    "Shares in {CO} rose {PCT} percent in {CITY} on {DAY} after the company said it had signed "
    "a {MONEY} agreement with the government of {CTRY}.",
    "Thousands of people marched through {CITY} on {DAY} to protest against {TOPIC}, in the "
    "largest demonstration the capital of {CTRY} has seen since {YEAR}.",
    "{C1_CAP} and {C2} agreed on {DAY} to expand {TOPIC}, {R1} {P1} told reporters in {CITY} "
    "after talks that lasted more than {N} hours.",
)
BODY = (
    "According to diplomatic sources, {P1s} will be in {CITY} on {MONTH} {D1} and {D2} to meet "
    "{P2s} and other senior officials.",
    "“We expect the talks to focus on concrete steps that can be taken on {TOPIC},” {P1s} said "
    "in a statement.",
    "{P2s} said {C2} was ready to work with {C1} but warned that “nothing is agreed until "
    "everything is agreed.”",
    "{ORG_CAP} estimates that about {N},000 people in {CTRY} depend directly on {TOPIC}.",
    "{P3}, {PROLE3}, said the agreement could add {PCT} percent to economic growth over the "
    "next {N2} years.",
    "“This is a turning point for the region,” {P3s} told {AG} by telephone from {CITY2}.",
    "The meeting comes days after {P1s} spoke by phone with {P4}, {C3}'s {R4}, about {TOPIC}.",
    "Officials in {CITY2} said a draft text had been circulated to {ORG} and to the "
    "governments of {C2} and {C3}.",
    "Trade between {C1} and {C2} reached {MONEY} last year, according to figures from {ORG}.",
    "{CO} said it would open a new plant near {CITY2} by {YEAR2}, creating about {N},000 jobs.",
    "Critics, including {P4} of {ORG2}, said the plan did little to address {TOPIC2}.",
    "The {R2} is also expected to raise {TOPIC2}, which has strained ties since {YEAR}.",
    "Opposition lawmakers in {CTRY} called for a parliamentary debate on the deal, saying "
    "they had not been consulted.",
    "{P1s} is due to return to {CITY1} on {DAY2}, where {C1}'s parliament will vote on the "
    "budget next month.",
    "“We will not accept any arrangement that ignores the needs of ordinary people,” {P4s} "
    "said at a rally in {CITY2}.",
    "{ORG_CAP} said in a report published on {DAY2} that {TOPIC2} remained the main risk to "
    "stability in {CTRY}.",
    "The talks in {CITY} were attended by delegations from {C1}, {C2}, {C3} and {ORG}.",
    "Analysts at {ORG2} said the outcome would depend largely on whether {P2s} could win "
    "support at home.",
    "{P3s} said the government had set aside {MONEY} for the first phase of the project.",
    "A previous round of negotiations in {CITY2} in {YEAR} ended without an agreement.",
    "Police in {CITY} said {N2} people had been detained after clashes near the ministry.",
    "The {PCT} percent rise in fuel prices announced by {C1} last month fuelled anger in "
    "{CITY1}.",
    "{P2s}, who took office in {YEAR}, has made {TOPIC} a priority of the government.",
    "Officials from {ORG} are expected to visit {CITY2} next week to assess progress.",
    "“Our message to {C2} is clear: we are ready to move forward,” {P1s} told the news "
    "conference.",
    "{CO}, which employs about {N},000 people in {CTRY}, declined to comment.",
    "Earlier this year {ORG} cut its growth forecast for {CTRY} to {PCT} percent.",
    "{P4}, a former {R4} of {C3}, said both sides had reasons to compromise.",
    "The two leaders also discussed the situation in {C3} and the work of {ORG}.",
    "Markets in {CITY1} reacted calmly, with the main index closing {PCT} percent higher.",
    "{P3s} said the first shipments could leave {CITY2} as early as {MONTH}.",
    "A joint statement issued after the talks called for “a permanent solution” on {TOPIC2}.",
    "{C2_CAP} has long argued that {TOPIC2} should be handled by {ORG}.",
    "Under the proposal, {C1} would receive {MONEY} in loans from {ORG} over {N2} years.",
    "{P4s} accused the government of {CTRY} of moving too slowly on {TOPIC}.",
    "The {AG} news agency reported that {P2s} had cancelled a planned trip to {CITY2}.",
    "Inflation in {CTRY} slowed to {PCT} percent in {MONTH}, the statistics office said.",
    "{P2s} told parliament in {CITY1} that {C2} would “defend its interests by every lawful "
    "means.”",
    "Engineers from {CO} arrived in {CITY} on {DAY2} to inspect the site.",
    "The agreement must still be ratified by the parliaments of {C1} and {C2}.",
    "{ORG_CAP} has repeatedly urged both governments to resolve the dispute over {TOPIC2}.",
    "Some {N},000 families were moved from flooded areas near {CITY2} last year.",
    "“There is still a long way to go,” said {P3}, who has followed the negotiations since "
    "{YEAR}.",
    "Diplomats in {CITY} said {P1s} had brought a written proposal from the government of {C1}.",
    "The {R1} will then travel on to {CITY2} for a regional summit hosted by {ORG}.",
    "{P4s}, speaking on a visit to {CITY1}, said {C3} would watch the talks closely.",
    "Business groups in {CTRY} welcomed the news, saying investment had stalled for {N2} "
    "months.",
    "The currency of {C2} gained {PCT} percent against the dollar after the announcement.",
    "A spokesperson for {ORG2} said the organisation had not been consulted on {TOPIC}.",
    "{P2s} and {P1s} last met in {CITY2} in {YEAR}, when they signed a memorandum on "
    "{TOPIC2}.",
    "Rights groups, among them {ORG2}, called for the release of {N2} activists held in "
    "{CITY}.",
)
HEADINGS = (
    "{TOPIC_CAP} on the agenda", "Reaction in {CITY2}", "Talks with {ORG_SHORT}",
    "Cooperation on {TOPIC2}", "What comes next", "Concerns in {C3}",
)
#: short sentences for topping up an article to its minimum length
FILLERS = (
    "Talks were continuing.", "No date was set.", "Officials declined to comment further.",
    "The vote is expected next week.", "Details were not disclosed.",
)

# fmt: on
