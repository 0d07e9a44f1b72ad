"""Original texts of the generated demo-corpus files (written for haybale; free to reuse)."""

from __future__ import annotations

BALING_GUIDE: list[tuple[str, str]] = [
    (
        "When the hay is ready",
        """
        Hay is ready to bale when the cut grass has dried to roughly fifteen to eighteen percent moisture for
        small square bales, and a little drier for large round bales that are wrapped without plastic. A
        simple field test is to twist a handful of stems: if they snap cleanly and the leaves rustle, the
        crop is close.
        If the stems bend and feel cool, it needs another afternoon of sun.

        Baling too wet is the most expensive mistake in haymaking. Moist hay keeps respiring inside the bale,
        heats up, grows mould, and in the worst case can ignite days or weeks later. Baling too dry shatters
        the leaves, and the leaves carry most of the protein, so the feed value drops sharply.
        """,
    ),
    (
        "Setting up the baler",
        """
        Before the first pass, check the knotters, the twine path and the shear bolts. Feed twine through the
        needles exactly as the operator's manual shows, because a single wrong loop is enough to make every
        knot fail. Adjust bale density with the tension control: dense bales store well and stack straight,
        but very dense bales of damp hay are the ones most likely to heat.

        Drive at a steady speed that keeps the pickup fed evenly. Windrows that are narrow and fluffy feed
        better than heavy, twisted ones. On slopes, drive up and down rather than across, and never clear a
        blockage while the power take-off is engaged.
        """,
    ),
    (
        "After baling",
        """
        Move bales off the field the same day if rain is forecast. Stack them on pallets or a dry floor with
        space for air to move, and leave the stack loosely built for the first two weeks, which is when
        heating is most likely. A long probe thermometer pushed into the middle of the stack tells you what is
        happening: below 50 degrees Celsius is normal, above 65 means the stack should be taken apart with
        care, and above 70 is a fire risk that calls for the fire brigade.

        Record the field, the cutting date and the number of bales. Those notes make next year's decisions
        easier and help match the right hay to the right animals: horses need dust-free hay, cattle tolerate
        coarser bales, and sheep prefer fine, leafy cuttings.
        """,
    ),
]

VECTOR_SEARCH: list[tuple[str, str]] = [
    (
        "From words to vectors",
        """
        An embedding model reads a passage of text and returns a list of numbers, a vector, that describes
        its meaning. The all-MiniLM-L6-v2 model, for example, returns 384 numbers for every input. Passages
        about similar topics end up with vectors that point in similar directions, even when they share no
        words: a question about "storing bales in a barn" lands near a passage about "keeping hay dry
        indoors".

        The similarity of two vectors is usually measured with the cosine of the angle between them, or with
        the dot product when the vectors are normalised to unit length. Both give the same ranking for
        normalised vectors, and the dot product is cheaper to compute.
        """,
    ),
    (
        "Exact and approximate search",
        """
        The simplest search compares the query vector with every stored vector and keeps the best matches.
        For tens or hundreds of thousands of passages this brute-force scan is fast on a modern CPU when the
        vectors sit in one contiguous matrix, because the whole comparison is a single matrix-vector product.

        For millions of vectors, approximate indexes such as HNSW build a navigable graph in which each vector
        links to a few close neighbours. A query walks the graph from an entry point towards closer and closer
        nodes. It inspects only a small part of the collection and usually finds nearly all of the true
        nearest neighbours; the parameters ef_search and m trade speed for recall.
        """,
    ),
    (
        "Combining vectors with keywords",
        """
        Vector search is good at paraphrases but can miss exact identifiers, product codes and rare names.
        Keyword search with BM25 is the opposite. Hybrid search runs both and fuses the two rankings, for
        example with reciprocal rank fusion, which adds up one over sixty plus the rank from each list.
        Documents that appear near the top of both lists win, and a document found by only one method still
        has a fair chance.
        """,
    ),
]

HAYMAKING_DOCX: list[tuple[str, object]] = [
    (
        "paragraph",
        """Haymaking follows the growth of the grass, not the calendar, but in a temperate climate the same
        rhythm returns every year. This calendar describes a typical season on a mixed farm with meadows and
        a few fields of clover.""",
    ),
    ("heading", "Spring"),
    (
        "paragraph",
        """In early spring the meadows are harrowed to spread molehills and pull out dead grass. Fertiliser
        or manure goes on before growth starts in earnest. Fences are checked so that grazing animals stay out
        of the fields reserved for hay.""",
    ),
    ("heading", "First cut"),
    (
        "paragraph",
        """The first cut is taken when the main grasses start to flower, usually in late May or June. Cutting
        earlier gives leafier, more nutritious hay but a smaller harvest; cutting later gives more bulk and
        more fibre. A settled spell of three or four dry days is what every farmer waits for.""",
    ),
    ("heading", "Second and third cuts"),
    (
        "paragraph",
        """After the first cut the meadow regrows with more leaf and less stem. The second cut often follows
        six to eight weeks later, and in a good year a third cut is possible in late summer. Later cuts dry
        more slowly because the days are shorter and the dew lingers.""",
    ),
    (
        "table",
        [
            ["Month", "Main work", "Watch out for"],
            ["March", "Harrowing and fertilising", "Soil too wet to drive on"],
            ["June", "First cut, tedding, baling", "Thunderstorms in the afternoon"],
            ["August", "Second cut", "Heavy dew slowing the drying"],
            ["October", "Checking stored hay", "Heating or damp in the stack"],
        ],
    ),
]

CHUNKING_DOCX: list[tuple[str, object]] = [
    (
        "paragraph",
        """Before documents can be searched, they are cut into chunks. The size and shape of these chunks
        decide much of the quality of a retrieval system, often more than the choice of embedding model.""",
    ),
    ("heading", "Why chunk at all"),
    (
        "paragraph",
        """Embedding models read a limited number of tokens; all-MiniLM-L6-v2 reads 256 word pieces and
        ignores the rest. A whole report squeezed into one vector also blurs its many topics together. Small
        chunks give sharp vectors and precise citations, while large chunks keep more context for the
        language model that writes the answer.""",
    ),
    ("heading", "Units and overlap"),
    (
        "paragraph",
        """Chunks can be measured in words, sentences, passages, pages or tokens. Counting tokens with the
        embedding model's own tokenizer guarantees that nothing is cut off silently. An overlap of a few
        sentences between neighbouring chunks keeps an idea that straddles a boundary findable from both
        sides.""",
    ),
    ("heading", "Keeping provenance"),
    (
        "paragraph",
        """Every chunk should remember where it came from: the source file, the page, and its position in the
        original text. With that information an answer can cite its sources, and an indexer can replace all
        chunks of a changed file in one step without leaving stale copies behind.""",
    ),
    (
        "table",
        [
            ["Unit", "Good for", "Typical size"],
            ["Sentence", "Question answering over prose", "5 to 10 sentences"],
            ["Token", "Staying inside the model limit", "200 to 250 tokens"],
            ["Page", "Reports and scanned books", "1 page"],
        ],
    ),
]

RAG_SLIDES: list[tuple[str, list[str]]] = [
    (
        "The problem",
        [
            "Language models only know what was in their training data",
            "They cannot see your private documents or last week's changes",
            "Asked anyway, they may invent a confident answer",
        ],
    ),
    (
        "Retrieval-augmented generation",
        [
            "Index: convert files, split them into chunks, embed and store the chunks",
            "Retrieve: find the chunks most relevant to the question",
            "Generate: give those chunks to the model with the question and ask for a cited answer",
        ],
    ),
    (
        "Retrieval choices",
        [
            "BM25 keyword search: exact terms, names and codes",
            "Dense vector search: paraphrases and related concepts",
            "Hybrid search with rank fusion: the strengths of both",
        ],
    ),
    (
        "Keeping the index honest",
        [
            "Key every chunk by its source file and content hash",
            "Skip unchanged files, replace changed ones atomically",
            "Remove the chunks of deleted files so answers never cite ghosts",
        ],
    ),
]

STORAGE_SLIDES: list[tuple[str, list[str]]] = [
    (
        "Why storage matters",
        [
            "Well-made hay can lose a third of its value in a poor store",
            "Damp hay heats, moulds and can catch fire by itself",
        ],
    ),
    (
        "Choosing a place",
        [
            "A roofed barn with good airflow is best",
            "Outdoor stacks need a raised base and a tight cover",
            "Keep hay away from fuel, machinery and electrical panels",
        ],
    ),
    (
        "Checking the stack",
        [
            "Probe the temperature daily for the first two weeks",
            "Below 50 degrees Celsius: normal",
            "Above 65 degrees: dismantle carefully; above 70 degrees: call the fire brigade",
        ],
    ),
]
