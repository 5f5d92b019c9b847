// Name tables for synthetic persons: common Dutch surnames (with their voorvoegsels) and first
// names by generation, and smaller tables for the largest groups of Dutch residents of foreign
// origin, with their country and nationality codes from the BRP's national tables (Landen,
// Nationaliteiten), as they occur in the RvIG test persons. Lists are ordered by frequency.

export interface Coded {
  code: string;
  omschrijving: string;
}

export interface Origin {
  id: string;
  /** Share of the population (relative). */
  weight: number;
  /** Share of this group born abroad (first generation); the rest are born in the Netherlands. */
  bornAbroad: number;
  /** Share holding only the foreign nationality (the rest are Dutch, some with two). */
  foreignOnly: number;
  country: Coded;
  nationality: Coded;
  /** Birth places abroad (the BRP writes a foreign place as text, without a code). */
  cities: readonly string[];
  surnames: readonly string[];
  male: readonly string[];
  female: readonly string[];
}

export const NETHERLANDS: Coded = { code: '6030', omschrijving: 'Nederland' };
export const DUTCH: Coded = { code: '0001', omschrijving: 'Nederlandse' };

/** Voorvoegsels (table 36), longest first so that "van der" wins over "van". */
export const VOORVOEGSELS = ['van der', 'van den', 'van de', "van 't", 'in het', "in 't", 'op de', 'van', 'de', 'den', 'der', 'ter', 'ten', 'te', "'t"] as const;

const NL_SURNAMES = [
  'de Jong', 'Jansen', 'de Vries', 'van den Berg', 'van Dijk', 'Bakker', 'Janssen', 'Visser', 'Smit', 'Meijer',
  'de Boer', 'Mulder', 'de Groot', 'Bos', 'Vos', 'Peters', 'Hendriks', 'van Leeuwen', 'Dekker', 'Brouwer',
  'de Wit', 'Dijkstra', 'Smits', 'de Graaf', 'van der Meer', 'van der Linden', 'Kok', 'Jacobs', 'de Haan', 'Vermeulen',
  'van den Heuvel', 'van der Veen', 'van den Broek', 'de Bruijn', 'de Bruin', 'van der Heijden', 'Schouten', 'van Beek', 'Willems', 'van Vliet',
  'van de Ven', 'Hoekstra', 'Maas', 'Verhoeven', 'Koster', 'van Dam', 'van der Wal', 'Prins', 'Blom', 'Huisman',
  'Peeters', 'de Jonge', 'Kuipers', 'van Veen', 'Post', 'Kuiper', 'Veenstra', 'Kramer', 'van den Brink', 'Scholten',
  'van Wijk', 'Postma', 'Martens', 'Vink', 'de Ruiter', 'Timmermans', 'Groen', 'Gerritsen', 'Jonker', 'van Loon',
  'Boer', 'van der Velde', 'Willemsen', 'Smeets', 'de Lange', 'de Vos', 'Bosch', 'van Dongen', 'Schipper', 'de Koning',
  'van der Laan', 'Koning', 'van der Velden', 'Driessen', 'van Doorn', 'Hermans', 'Evers', 'van den Bosch', 'van der Meulen', 'Hofman',
  'Bosman', 'Wouters', 'Sanders', 'van der Zee', 'Wolters', 'Mol', 'Kuijpers', 'van Rijn', 'Verbeek', 'Hoogendoorn',
  'Bakkers', 'de Graaff', 'van Es', 'Claassen', 'Bouwman', 'Boon', 'Kroon', 'Molenaar', 'Brink', 'van Vugt',
  'Verschuren', 'Hoogland', 'Beekman', 'Meijers', 'Wijnen', 'Lammers', 'van der Pol', 'Tromp', 'Koopman', 'van Wijngaarden',
  'Ververs', 'Vreeswijk', 'Hofstra', 'Keijzer', 'Zwart', 'van Zanten', 'de Kok', 'Stam', 'Geerts', 'Bouma',
  'Rademaker', 'Overbeek', 'Versteeg', 'Haverkamp', 'Knol', 'Wessels', 'van Hout', 'van Ommen', 'Terpstra', 'Bijl',
  'van Dalen', 'Dijkman', 'Schenk', 'Schreurs', 'Ruiter', 'van Os', 'van der Sluis', 'Wagenaar', 'Pronk', 'Heijnen',
  'Kloosterman', 'ter Haar', 'ten Brink', 'van Steenbergen', 'Nijhuis', 'Oosterhuis', 'Veldhuis', 'Brinkman', 'Mulders', 'Damen',
  'van Hees', 'Hartman', 'Boersma', 'Zijlstra', 'Bergsma', 'Wiersma', 'Jongsma', 'de Wilde', 'Spijker', 'Ooms',
  'Hoek', 'Groenewegen', 'van der Horst', 'Brands', 'Kamphuis', 'Roelofs', 'Aarts', 'Kuijper', 'Lubbers', 'Zuidema',
  "van 't Hof", "van 't Veer", 'in het Veld', "in 't Zandt", 'op de Beek', 'ten Cate', 'ter Horst', 'van der Ploeg', 'van de Kamp', 'van Beusekom',
  'Verhagen', 'van Gils', 'Coenen', 'Franken', 'Linssen', 'Kusters', 'Hendrix', 'Vermeer', 'de Waal', 'van Schaik',
];

const NL_MALE_TRADITIONAL = [
  'Johannes', 'Cornelis', 'Hendrik', 'Jan', 'Willem', 'Pieter', 'Gerrit', 'Jacobus', 'Adrianus', 'Petrus',
  'Theodorus', 'Franciscus', 'Antonius', 'Wilhelmus', 'Gerardus', 'Hendrikus', 'Jacob', 'Dirk', 'Klaas', 'Arie',
  'Maarten', 'Albertus', 'Marinus', 'Lambertus', 'Bernardus', 'Johan', 'Hermanus', 'Leendert', 'Nicolaas', 'Gijsbert',
  'Teunis', 'Evert', 'Harm', 'Roelof', 'Jelle', 'Sjoerd', 'Tjeerd', 'Hessel', 'Auke', 'Durk',
  'Kees', 'Henk', 'Wim', 'Piet', 'Gert', 'Ad', 'Ton', 'Hans', 'Joop', 'Bert',
];
const NL_MALE_MIDDLE = [
  'Peter', 'Mark', 'Dennis', 'Sander', 'Martijn', 'Jeroen', 'Erik', 'Michel', 'Marco', 'Rob',
  'Frank', 'Paul', 'Joost', 'Rutger', 'Wouter', 'Koen', 'Tom', 'Rick', 'Mike', 'Jeffrey',
  'Patrick', 'Vincent', 'Robin', 'Bart', 'Ruud', 'Arjan', 'Edwin', 'Richard', 'Ronald', 'Remco',
  'Bas', 'Niels', 'Kevin', 'Tim', 'Thomas', 'Stefan', 'Maurice', 'Jasper', 'Roel', 'Gijs',
];
const NL_MALE_MODERN = [
  'Noah', 'Sem', 'Lucas', 'Liam', 'Levi', 'Finn', 'Daan', 'Luuk', 'Milan', 'Jesse',
  'Bram', 'Thijs', 'Lars', 'Ruben', 'Stijn', 'Julian', 'Sven', 'Max', 'Mees', 'Jens',
  'Tygo', 'Hugo', 'Boaz', 'Siem', 'Jayden', 'Floris', 'Joris', 'Casper', 'Tobias', 'Elias',
  'Otis', 'Guus', 'Jurre', 'Job', 'Teun', 'Pepijn', 'Hidde', 'Wietse', 'Olivier', 'Matthijs',
];
const NL_FEMALE_TRADITIONAL = [
  'Maria', 'Johanna', 'Cornelia', 'Anna', 'Wilhelmina', 'Elisabeth', 'Hendrika', 'Catharina', 'Geertruida', 'Adriana',
  'Petronella', 'Jacoba', 'Aaltje', 'Grietje', 'Neeltje', 'Trijntje', 'Gerarda', 'Theodora', 'Antonia', 'Margaretha',
  'Helena', 'Aleida', 'Dirkje', 'Jantje', 'Klaasje', 'Dieuwke', 'Tjitske', 'Sytske', 'Baukje', 'Froukje',
  'Ria', 'Truus', 'Joke', 'Els', 'Tineke', 'Corrie', 'Annie', 'Bep', 'Greet', 'Wil',
];
const NL_FEMALE_MIDDLE = [
  'Linda', 'Esther', 'Marieke', 'Petra', 'Monique', 'Sandra', 'Ingrid', 'Karin', 'Wilma', 'Annemarie',
  'Mirjam', 'Saskia', 'Marloes', 'Manon', 'Inge', 'Ellen', 'Anja', 'Kim', 'Sanne', 'Lisa',
  'Iris', 'Femke', 'Anouk', 'Eline', 'Marjolein', 'Miranda', 'Nicole', 'Patricia', 'Claudia', 'Astrid',
  'Judith', 'Ilse', 'Marit', 'Vera', 'Laura', 'Charlotte', 'Isabel', 'Renate', 'Yvonne', 'Danielle',
];
const NL_FEMALE_MODERN = [
  'Emma', 'Julia', 'Mila', 'Tess', 'Sophie', 'Zoë', 'Sara', 'Nora', 'Yara', 'Eva',
  'Liv', 'Lotte', 'Saar', 'Fenna', 'Noor', 'Lieke', 'Evi', 'Fleur', 'Roos', 'Maud',
  'Hannah', 'Isa', 'Floor', 'Nina', 'Elin', 'Veerle', 'Merel', 'Jasmijn', 'Lynn', 'Demi',
  'Kiki', 'Romy', 'Bo', 'Puck', 'Jet', 'Loïs', 'Noa', 'Hanna', 'Olivia', 'Sofie',
];

// The long tail: about 80% of the Dutch carry a name outside the top 200 (de Jong, the most
// common, is about 0.5%). Tail names are composed from parts, "Veenstra", "van Hofland".
const TAIL_STEMS = [
  'Berg', 'Dijk', 'Veen', 'Brink', 'Hof', 'Hout', 'Kamp', 'Broek', 'Molen', 'Beek', 'Horst', 'Bos', 'Wal', 'Heuvel',
  'Sluis', 'Kerk', 'Water', 'Zand', 'Hoek', 'Poel', 'Akker', 'Haar', 'Meer', 'Burg', 'Ooster', 'Wester', 'Noord',
  'Zuid', 'Hoog', 'Klein', 'Groot', 'Nieuw', 'Oud', 'Steen', 'Goud', 'Lind', 'Eik', 'Kooi', 'Schut', 'Timmer',
  'Hendrik', 'Jan', 'Pieter', 'Gerrit', 'Willem', 'Dirk', 'Klaas', 'Roel', 'Wouter', 'Harm', 'Evert', 'Rutger',
  'Boer', 'Vis', 'Brouw', 'Bakker', 'Smed', 'Wever', 'Kuip', 'Hamer', 'Zeil', 'Riet', 'Wijn', 'Rog', 'Vlas', 'Haver',
];
const TAIL_SUFFIXES = [
  'man', 'mans', 'sma', 'stra', 'ma', 'inga', 'ink', 'huis', 'huizen', 'kamp', 'veld', 'hof', 'berg', 'dijk', 'brink',
  'horst', 'beek', 'land', 'er', 'ers', 'en', 'sen', 's', 'ing', 'kes', 'hout', 'weg', 'voort', 'mate', 'stede',
];
const PLACE_SUFFIXES = new Set(['huis', 'huizen', 'kamp', 'veld', 'hof', 'berg', 'dijk', 'brink', 'horst', 'beek', 'land', 'hout', 'weg', 'voort', 'mate', 'stede']);

/** A composed Dutch surname from two uniform draws in [0, 1) (and a third for the voorvoegsel). */
export function composedSurname(u: number, v: number, w: number): string {
  const stem = TAIL_STEMS[Math.floor(u * TAIL_STEMS.length)]!;
  const suffix = TAIL_SUFFIXES[Math.floor(v * TAIL_SUFFIXES.length)]!;
  // "Dijk" + "kamp" is written "Dijkamp"; "Berg" + "berg" would be silly.
  const name =
    suffix === stem.toLowerCase() ? `${stem}sma` : suffix.length > 1 && stem.endsWith(suffix[0]!) ? `${stem}${suffix.slice(1)}` : `${stem}${suffix}`;
  if (!PLACE_SUFFIXES.has(suffix)) return name;
  return w < 0.25 ? `van ${name}` : w < 0.32 ? `van de ${name}` : w < 0.38 ? `van der ${name}` : w < 0.44 ? `ten ${name}` : name;
}

/** Share of the Dutch-origin population whose surname is one of NL_SURNAMES. */
export const NL_TOP_SURNAME_SHARE = 0.22;

/** The traditional lists start with this many official forms, then diminutives given as names. */
export const NL_OFFICIAL_TRADITIONAL = 30;

/** Dutch first-name lists by generation: born before 1965, 1965–1994, from 1995. */
export const NL_FIRST_NAMES = {
  male: [NL_MALE_TRADITIONAL, NL_MALE_MIDDLE, NL_MALE_MODERN],
  female: [NL_FEMALE_TRADITIONAL, NL_FEMALE_MIDDLE, NL_FEMALE_MODERN],
} as const;

export const ORIGINS: readonly Origin[] = [
  {
    id: 'nl',
    weight: 75,
    bornAbroad: 0,
    foreignOnly: 0,
    country: NETHERLANDS,
    nationality: DUTCH,
    cities: [],
    surnames: NL_SURNAMES,
    male: NL_MALE_MIDDLE,
    female: NL_FEMALE_MIDDLE,
  },
  {
    id: 'ma',
    weight: 2.4,
    bornAbroad: 0.45,
    foreignOnly: 0.05,
    country: { code: '5022', omschrijving: 'Marokko' },
    nationality: { code: '0131', omschrijving: 'Marokkaanse' },
    cities: ['Nador', 'Casablanca', 'Tanger', 'Al Hoceima', 'Rabat', 'Oujda'],
    surnames: ['El Amrani', 'Bouzid', 'El Idrissi', 'Benali', 'Ouali', 'Azzouzi', 'El Khatib', 'Haddou', 'Boukhari', 'Amrani', 'Chakir', 'Bakkali', 'Ziani', 'El Hamdaoui', 'Tahiri', 'Aouragh', 'Ait Taleb', 'Boulahrouz'],
    male: ['Mohammed', 'Ahmed', 'Youssef', 'Hamza', 'Ayoub', 'Bilal', 'Rachid', 'Karim', 'Anouar', 'Soufiane', 'Mustapha', 'Adam', 'Rayan', 'Ismail'],
    female: ['Fatima', 'Khadija', 'Samira', 'Nadia', 'Salma', 'Yasmina', 'Malak', 'Nour', 'Imane', 'Ikram', 'Soumaya', 'Hafsa', 'Aya', 'Latifa'],
  },
  {
    id: 'tr',
    weight: 2.4,
    bornAbroad: 0.45,
    foreignOnly: 0.1,
    country: { code: '6043', omschrijving: 'Turkije' },
    nationality: { code: '0339', omschrijving: 'Turkse' },
    cities: ['Istanbul', 'Ankara', 'Konya', 'Kayseri', 'Izmir', 'Sivas'],
    surnames: ['Yılmaz', 'Kaya', 'Demir', 'Şahin', 'Çelik', 'Yıldız', 'Öztürk', 'Aydın', 'Özdemir', 'Arslan', 'Doğan', 'Kılıç', 'Aslan', 'Çetin', 'Koç', 'Kurt'],
    male: ['Mehmet', 'Mustafa', 'Emre', 'Ali', 'Hüseyin', 'Murat', 'Burak', 'Yusuf', 'Kerem', 'Efe', 'Ömer', 'Hakan', 'Serkan', 'Cem'],
    female: ['Ayşe', 'Elif', 'Zeynep', 'Esra', 'Hatice', 'Büşra', 'Fatma', 'Merve', 'Derya', 'Selin', 'Emine', 'Gül', 'Sevgi', 'Özlem'],
  },
  {
    id: 'sr',
    weight: 2.1,
    bornAbroad: 0.4,
    foreignOnly: 0.02,
    country: { code: '5007', omschrijving: 'Suriname' },
    nationality: { code: '0263', omschrijving: 'Surinaamse' },
    cities: ['Paramaribo', 'Nieuw Nickerie', 'Moengo', 'Lelydorp'],
    surnames: ['Pinas', 'Tjon', 'Ramdin', 'Biharie', 'Sewnarain', 'Jagesar', 'Kartosen', 'Wongsodikromo', 'Sedney', 'Vreden', 'Doelwijt', 'Amatsaleh', 'Ramautar', 'Mahabier', 'Kromodimedjo'],
    male: ['Rajesh', 'Sanjay', 'Ravi', 'Dinesh', 'Glenn', 'Orlando', 'Romano', 'Ricardo', 'Anand', 'Sunil', 'Clyde', 'Marvin'],
    female: ['Sunita', 'Priya', 'Anjali', 'Shanti', 'Gwendolyn', 'Natasha', 'Chantal', 'Rosita', 'Reshma', 'Kavita', 'Jennifer', 'Sharon'],
  },
  {
    id: 'pl',
    weight: 1.2,
    bornAbroad: 0.85,
    foreignOnly: 0.75,
    country: { code: '7028', omschrijving: 'Polen' },
    nationality: { code: '0072', omschrijving: 'Poolse' },
    cities: ['Warschau', 'Krakau', 'Wrocław', 'Gdańsk', 'Poznań', 'Łódź'],
    surnames: ['Nowak', 'Kowalski', 'Wiśniewski', 'Wójcik', 'Kowalczyk', 'Kamiński', 'Lewandowski', 'Zieliński', 'Szymański', 'Woźniak', 'Dąbrowski', 'Mazur'],
    male: ['Tomasz', 'Piotr', 'Krzysztof', 'Paweł', 'Marek', 'Michał', 'Łukasz', 'Jakub', 'Mateusz', 'Kamil'],
    female: ['Agnieszka', 'Katarzyna', 'Anna', 'Magdalena', 'Joanna', 'Monika', 'Małgorzata', 'Aleksandra', 'Natalia', 'Karolina'],
  },
  {
    id: 'de',
    weight: 1.1,
    bornAbroad: 0.6,
    foreignOnly: 0.5,
    country: { code: '9089', omschrijving: 'Bondsrepubliek Duitsland' },
    nationality: { code: '0055', omschrijving: 'Burger van de Bondsrepubliek Duitsland' },
    cities: ['Berlijn', 'Keulen', 'Düsseldorf', 'Hamburg', 'München', 'Aken'],
    surnames: ['Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Meyer', 'Wagner', 'Becker', 'Schulz', 'Hoffmann', 'Koch', 'Richter'],
    male: ['Lukas', 'Felix', 'Jonas', 'Maximilian', 'Stefan', 'Andreas', 'Michael', 'Thomas', 'Jürgen', 'Klaus'],
    female: ['Anna', 'Lena', 'Leonie', 'Sabine', 'Claudia', 'Susanne', 'Julia', 'Katharina', 'Ursula', 'Petra'],
  },
  {
    id: 'be',
    weight: 0.7,
    bornAbroad: 0.6,
    foreignOnly: 0.5,
    country: { code: '5010', omschrijving: 'België' },
    nationality: { code: '0052', omschrijving: 'Belgische' },
    cities: ['Antwerpen', 'Gent', 'Brussel', 'Leuven', 'Hasselt'],
    surnames: ['Peeters', 'Janssens', 'Maes', 'Jacobs', 'Mertens', 'Willems', 'Claes', 'Goossens', 'Wouters', 'De Smet', 'Dubois', 'Lambert'],
    male: ['Wout', 'Jef', 'Stijn', 'Pieter', 'Arne', 'Koen', 'Dries', 'Luc', 'Marc', 'Filip'],
    female: ['Lotte', 'An', 'Els', 'Griet', 'Hilde', 'Katrien', 'Leen', 'Nele', 'Sofie', 'Marie'],
  },
  {
    id: 'in',
    weight: 0.4,
    bornAbroad: 0.8,
    foreignOnly: 0.8,
    country: { code: '7046', omschrijving: 'India' },
    nationality: { code: '0312', omschrijving: 'Indiase' },
    cities: ['Mumbai', 'Bangalore', 'Chennai', 'Delhi', 'Hyderabad', 'Pune'],
    surnames: ['Sharma', 'Patel', 'Singh', 'Kumar', 'Gupta', 'Reddy', 'Iyer', 'Nair', 'Rao', 'Joshi'],
    male: ['Arjun', 'Rahul', 'Vikram', 'Aditya', 'Rohan', 'Karthik', 'Amit', 'Suresh'],
    female: ['Ananya', 'Divya', 'Pooja', 'Lakshmi', 'Neha', 'Kavya', 'Shreya', 'Meera'],
  },
  {
    id: 'cn',
    weight: 0.4,
    bornAbroad: 0.6,
    foreignOnly: 0.5,
    country: { code: '6022', omschrijving: 'China' },
    nationality: { code: '0307', omschrijving: 'Chinese' },
    cities: ['Shanghai', 'Beijing', 'Shenzhen', 'Guangzhou', 'Wenzhou'],
    surnames: ['Wang', 'Li', 'Zhang', 'Chen', 'Liu', 'Yang', 'Huang', 'Zhao', 'Wu', 'Zhou', 'Lin', 'Cheung'],
    male: ['Wei', 'Jun', 'Hao', 'Lei', 'Ming', 'Jian', 'Tao', 'Chen'],
    female: ['Mei', 'Lan', 'Xiu', 'Jing', 'Ying', 'Hui', 'Li', 'Fang'],
  },
  {
    id: 'sy',
    weight: 0.6,
    bornAbroad: 0.8,
    foreignOnly: 0.6,
    country: { code: '7009', omschrijving: 'Syrië' },
    nationality: { code: '0336', omschrijving: 'Syrische' },
    cities: ['Damascus', 'Aleppo', 'Homs', 'Latakia'],
    surnames: ['Al-Hassan', 'Haddad', 'Khalil', 'Al-Ahmad', 'Ibrahim', 'Mansour', 'Hamdan', 'Al-Khatib', 'Darwish', 'Saleh'],
    male: ['Omar', 'Ahmad', 'Khaled', 'Mahmoud', 'Hassan', 'Sami', 'Tarek', 'Yazan'],
    female: ['Lina', 'Rania', 'Hala', 'Dima', 'Nour', 'Rasha', 'Reem', 'Sara'],
  },
];

export const NAAMGEBRUIK = {
  E: { code: 'E', omschrijving: 'eigen geslachtsnaam' },
  P: { code: 'P', omschrijving: 'geslachtsnaam echtgenoot/geregistreerd partner' },
  V: { code: 'V', omschrijving: 'geslachtsnaam echtgenoot/geregistreerd partner voor eigen geslachtsnaam' },
  N: { code: 'N', omschrijving: 'geslachtsnaam echtgenoot/geregistreerd partner na eigen geslachtsnaam' },
} as const;

export const GESLACHT = {
  M: { code: 'M', omschrijving: 'man' },
  V: { code: 'V', omschrijving: 'vrouw' },
  O: { code: 'O', omschrijving: 'onbekend' },
} as const;

/** Splits "van der Meer" into ["van der", "Meer"]; names without a voorvoegsel give ["", name]. */
export function splitVoorvoegsel(surname: string): [string, string] {
  for (const v of VOORVOEGSELS) {
    if (surname.startsWith(`${v} `)) return [v, surname.slice(v.length + 1)];
  }
  return ['', surname];
}

/** Zipf-like weights (1/rank^s) for a list ordered by frequency. */
export function zipfWeights<T>(xs: readonly T[], s = 0.9): [T, number][] {
  return xs.map((x, i) => [x, 1 / Math.pow(i + 1, s)]);
}

/** "Johannes Cornelis Maria" → "J.C.M."; the Dutch digraph IJ stays together. */
export function voorletters(voornamen: string): string {
  let out = '';
  let start = true;
  for (let k = 0; k < voornamen.length; k++) {
    const c = voornamen[k]!;
    if (c === ' ') {
      start = true;
    } else if (start) {
      out += c === 'I' && voornamen[k + 1] === 'J' ? 'IJ.' : `${c.toUpperCase()}.`;
      start = false;
    }
  }
  return out;
}
